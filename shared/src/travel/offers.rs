//! Offers, as stored after a search (one item per search, under the tenant, for a limited
//! time) and as shown: price, distance, cabin, CO2e with its methodology and factors, policy.
