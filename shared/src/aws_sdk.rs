//! The one SDK configuration of a function: built once per container, before the first
//! invocation, without calling anything; every client of the function shares its HTTP client
//! (one connection pool, one TLS configuration) and its credentials provider.

use crate::config::ConfigError;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::Builder;
use std::time::Duration;

/// The roots AWS service endpoints chain to. Trusting only these keeps the system store
/// (hundreds of files under /etc/ssl/certs, about 3 ms to read and parse) off the init path.
pub const AMAZON_TRUST_SERVICES_ROOTS: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

/// `AWS_TRUST_STORE=system` trusts the system store instead (a proxy that re-signs TLS, say).
const TRUST_STORE_VARIABLE: &str = "AWS_TRUST_STORE";

/// Seconds a pooled connection may stay idle before the pool closes it; hyper's 90 s when
/// unset. The hot-text recording sets 1 s, so that its 20 calls run the code that closes a
/// connection, which a warm container otherwise first runs minutes in, from cold pages.
const POOL_IDLE_VARIABLE: &str = "AWS_HTTP_POOL_IDLE_SECONDS";

/// A function's configuration in Lambda, from its environment alone: the region, the role's
/// credentials (Lambda always sets both) and `AWS_ENDPOINT_URL` (tests and the perf harness).
/// No profile files to parse and no instance-metadata, SSO or web-identity chain to set up.
/// Other SDK variables (`AWS_ENDPOINT_URL_<SERVICE>`, FIPS, retry mode) are not read.
pub fn lambda_config() -> Result<SdkConfig, ConfigError> {
    let region = std::env::var("AWS_REGION").map_err(|_| ConfigError("set AWS_REGION (Lambda always does)".into()))?;
    let credentials = SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new());
    let builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(credentials)
        .http_client(http_client(system_roots(), pool_idle()))
        // What `aws_config::defaults` sets: standard retries, a 3.1 s connect timeout.
        .retry_config(RetryConfig::standard())
        .timeout_config(TimeoutConfig::builder().connect_timeout(Duration::from_millis(3100)).build());
    Ok(match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => builder.endpoint_url(url).build(),
        _ => builder.build(),
    })
}

/// An operator's configuration on a laptop or in CI: the whole default chain (profiles, SSO,
/// web identity, instance metadata).
pub async fn operator_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client(system_roots(), None)).load().await
}

fn system_roots() -> bool {
    std::env::var(TRUST_STORE_VARIABLE).is_ok_and(|v| v == "system")
}

fn pool_idle() -> Option<Duration> {
    std::env::var(POOL_IDLE_VARIABLE).ok().and_then(|v| v.parse().ok()).map(Duration::from_secs)
}

fn http_client(system_roots: bool, pool_idle: Option<Duration>) -> aws_sdk_dynamodb::config::SharedHttpClient {
    let mut builder = Builder::new();
    builder.set_pool_idle_timeout(pool_idle.map(Some));
    builder.tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc)).tls_context(tls_context(system_roots)).build_https()
}

/// A connection for requests that are not AWS calls (the Slack webhook): the same HTTP and TLS
/// code the SDK clients run, so a function links one HTTP stack, trusting the system store,
/// since the far end is not an AWS endpoint. Build it when first needed: it reads that store.
pub fn outbound_connector() -> aws_smithy_http_client::Connector {
    aws_smithy_http_client::Connector::builder()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(tls_context(true))
        .build()
}

fn tls_context(system_roots: bool) -> TlsContext {
    let trust = if system_roots {
        TrustStore::empty().with_native_roots(true)
    } else {
        TrustStore::empty().with_native_roots(false).with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS)
    };
    // `build` cannot fail today; its default would trust the system store, so never fall back.
    TlsContext::builder().with_trust_store(trust).build().expect("a TLS context with a trust store builds")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::{pem::PemObject, CertificateDer};

    #[test]
    fn the_bundle_holds_the_five_amazon_roots() {
        let certs: Vec<_> = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS).collect::<Result<_, _>>().expect("valid PEM");
        assert_eq!(certs.len(), 5);
    }
}
