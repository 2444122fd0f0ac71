//! TLS for IMAP (rustls with ring): the public roots plus an optional private CA.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

pub fn client_config(ca_file: Option<&Path>) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(p) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(p)
            .map_err(|e| anyhow::anyhow!("CA file {}: {e}", p.display()))?
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("CA file {}: {e}", p.display()))?;
        if certs.is_empty() {
            anyhow::bail!("CA file {} holds no certificate", p.display());
        }
        for c in certs {
            roots.add(c)?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

pub async fn wrap(tcp: TcpStream, host: &str, cfg: Arc<ClientConfig>) -> anyhow::Result<TlsStream<TcpStream>> {
    let name = ServerName::try_from(host.to_string()).map_err(|e| anyhow::anyhow!("server name {host}: {e}"))?;
    Ok(TlsConnector::from(cfg).connect(name, tcp).await?)
}
