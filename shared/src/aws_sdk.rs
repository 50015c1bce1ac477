//! The one SDK configuration of a function: built once per container, before the first
//! invocation, without calling anything; every client of the function shares its HTTP client
//! (one connection pool, one TLS configuration) and its credentials provider.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::Builder;

/// The roots AWS service endpoints chain to. Trusting only these keeps the system store
/// (hundreds of files under /etc/ssl/certs, about 3 ms to read and parse) off the init path.
pub const AMAZON_TRUST_SERVICES_ROOTS: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

/// `AWS_TRUST_STORE=system` trusts the system store instead (a proxy that re-signs TLS, say).
const TRUST_STORE_VARIABLE: &str = "AWS_TRUST_STORE";

pub async fn sdk_config() -> SdkConfig {
    let system = std::env::var(TRUST_STORE_VARIABLE).is_ok_and(|v| v == "system");
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client(system)).load().await
}

fn http_client(system_roots: bool) -> aws_sdk_dynamodb::config::SharedHttpClient {
    let trust = if system_roots {
        TrustStore::empty().with_native_roots(true)
    } else {
        TrustStore::empty().with_native_roots(false).with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS)
    };
    let tls = TlsContext::builder().with_trust_store(trust).build().unwrap_or_default();
    Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc)).tls_context(tls).build_https()
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
