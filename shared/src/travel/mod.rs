//! Travel: airports and distances, the supplier port with its offline sandbox supplier, carbon
//! methodologies, and offer search.

mod airport_keys;
pub mod airports;
pub mod carbon;
pub mod money;
pub mod network;
pub mod sandbox;
pub mod supplier;
