//! TLS for `https://`, with rustls driven sans-I/O: encrypted bytes come
//! in through `data_received` and go out through the transport; rustls
//! never sees a socket.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use torsion::Ctx;

use super::FetchError;

fn tls_error(reason: impl std::fmt::Display) -> FetchError {
    FetchError::Tls {
        reason: reason.to_string(),
    }
}

/// A failed handshake, in words a user can act on for the certificate
/// troubles people meet (rustls's own words for the rest).
fn handshake_error(error: rustls::Error) -> FetchError {
    use rustls::CertificateError as Cert;
    let rustls::Error::InvalidCertificate(cert) = &error else {
        return tls_error(error);
    };
    let trust = "trust its CA with --ca-file";
    match cert {
        Cert::UnknownIssuer => tls_error(format!(
            "the server's certificate has an unknown issuer, not a CA this client trusts \
             (a self-signed certificate, or a private CA? {trust})"
        )),
        // rustls passes webpki's reason on as an opaque error.
        Cert::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => tls_error(format!(
            "the server's certificate is a CA certificate, which cannot be a server's own \
             (a self-signed certificate made as a CA, as `openssl req -x509` makes by default? \
             sign a server certificate with that CA, and {trust})"
        )),
        Cert::Expired | Cert::ExpiredContext { .. } => {
            tls_error(format!("the server's certificate has expired ({cert})"))
        }
        Cert::NotValidForName | Cert::NotValidForNameContext { .. } => {
            tls_error(format!("the server's certificate is for another name ({cert})"))
        }
        _ => tls_error(format!("the server's certificate is not valid: {cert}")),
    }
}

/// The system's trusted roots, read once per process (they are plain data).
fn system_roots() -> Result<Arc<RootCertStore>, FetchError> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                log::warn!("reading the system's certificates: {e}");
            }
            let mut store = RootCertStore::empty();
            let (added, ignored) = store.add_parsable_certificates(found.certs);
            log::debug!("{added} system roots loaded ({ignored} unparsable)");
            if store.is_empty() {
                Err("no trusted root certificates found on this system".to_string())
            } else {
                Ok(Arc::new(store))
            }
        })
        .clone()
        .map_err(tls_error)
}

/// A client configuration trusting the system's roots, or only the CAs
/// in `ca_file` (PEM) when one is given.
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, FetchError> {
    let roots = match ca_file {
        None => system_roots()?,
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| tls_error(format!("cannot read CA file {}: {e}", path.display())))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| tls_error(format!("bad CA file {}: {e}", path.display())))?;
            let mut store = RootCertStore::empty();
            for cert in certs {
                store
                    .add(cert)
                    .map_err(|e| tls_error(format!("bad certificate in {}: {e}", path.display())))?;
            }
            if store.is_empty() {
                return Err(tls_error(format!("no certificate in CA file {}", path.display())));
            }
            Arc::new(store)
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// One TLS session over one connection.
pub(crate) struct TlsLayer {
    session: ClientConnection,
}

impl TlsLayer {
    /// A session to `host` (a DNS name or an IP address), checked against `config`'s roots.
    pub(crate) fn new(config: Arc<ClientConfig>, host: &str) -> Result<Self, FetchError> {
        let name = ServerName::try_from(host.to_string()).map_err(|e| tls_error(format!("{host:?}: {e}")))?;
        let session = ClientConnection::new(config, name).map_err(tls_error)?;
        Ok(TlsLayer { session })
    }

    /// Queues plaintext; it leaves encrypted once the handshake is done.
    pub(crate) fn write(&mut self, plain: &[u8]) -> Result<(), FetchError> {
        self.session.writer().write_all(plain).map_err(tls_error)
    }

    /// Writes whatever rustls has to send (handshake records, data, alerts).
    pub(crate) fn flush(&mut self, ctx: &mut Ctx<'_>) {
        let mut out = Vec::new();
        while self.session.wants_write() {
            match self.session.write_tls(&mut out) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        if !out.is_empty() {
            ctx.write(&out);
        }
    }

    /// Feeds encrypted bytes; appends the plaintext they carry to `plain`.
    /// Returns whether the peer closed the session (close_notify).
    pub(crate) fn receive(&mut self, mut data: &[u8], plain: &mut Vec<u8>) -> Result<bool, FetchError> {
        let mut closed = false;
        while !data.is_empty() {
            self.session.read_tls(&mut data).map_err(tls_error)?;
            self.session.process_new_packets().map_err(handshake_error)?;
            closed |= self.drain(plain)?;
        }
        Ok(closed)
    }

    /// Reads the plaintext rustls holds; true once the peer's close_notify arrived.
    fn drain(&mut self, plain: &mut Vec<u8>) -> Result<bool, FetchError> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.session.reader().read(&mut chunk) {
                Ok(0) => return Ok(true),
                Ok(n) => plain.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(tls_error(e)),
            }
        }
    }
}
