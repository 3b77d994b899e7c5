//! Servers for the client's tests: a Torsion site on the test's own
//! reactor, a scripted raw server and a rustls server on threads, and a
//! test CA made with rcgen.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use torsion::{Deferred, Failure, Reactor};
use torsion_clients::http::{FetchError, Response};

/// Runs the reactor until `d` fires.
pub fn wait<T: 'static>(reactor: &mut Reactor, d: Deferred<T>) -> Result<T, Failure> {
    reactor.run_until_complete(d).expect("the reactor runs")
}

/// The fetch's typed error.
pub fn fetch_error(result: Result<Response, Failure>) -> FetchError {
    match result {
        Ok(r) => panic!("expected a failure, got {} {}", r.status, r.text()),
        Err(failure) => failure
            .find::<FetchError>()
            .cloned()
            .unwrap_or_else(|| panic!("not a FetchError: {failure}")),
    }
}

/// What a scripted connection does after reading the request head.
#[derive(Clone)]
pub enum Script {
    /// Writes these pieces, pausing between them, then closes.
    Reply(Vec<Vec<u8>>, Duration),
    /// Reads and says nothing for this long, then closes.
    Silent(Duration),
    /// Writes this at once, without reading, then closes.
    Blurt(Vec<u8>),
    /// Answers with this, reads the next request on the same connection,
    /// and closes without answering it (a server dropping a kept
    /// connection just as it is reused).
    AnswerThenDrop(Vec<u8>),
}

/// A thread serving one scripted connection per entry, in order; sends
/// back the request heads it read.
pub struct Scripted {
    pub addr: SocketAddr,
    pub requests: mpsc::Receiver<String>,
}

pub fn scripted(scripts: Vec<Script>) -> Scripted {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for script in scripts {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            if let Script::Blurt(bytes) = &script {
                let _ = stream.write_all(bytes);
                continue;
            }
            let head = read_head(&mut stream);
            let _ = tx.send(head);
            match script {
                Script::Reply(pieces, pause) => {
                    for piece in pieces {
                        if stream.write_all(&piece).is_err() {
                            break;
                        }
                        let _ = stream.flush();
                        thread::sleep(pause);
                    }
                }
                Script::Silent(how_long) => thread::sleep(how_long),
                Script::Blurt(_) => {}
                Script::AnswerThenDrop(answer) => {
                    let _ = stream.write_all(&answer);
                    let next = read_head(&mut stream);
                    let _ = tx.send(next);
                }
            }
        }
    });
    Scripted { addr, requests: rx }
}

/// Reads up to the end of a request head.
pub fn read_head(stream: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A test CA, and a server certificate it signed for `localhost` and 127.0.0.1.
pub struct TestPki {
    pub ca_pem: String,
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
}

pub fn test_pki() -> TestPki {
    test_pki_for(&["localhost", "127.0.0.1"])
}

/// A test CA and a server certificate for `names`.
pub fn test_pki_for(names: &[&str]) -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Torsion test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    TestPki {
        ca_pem: ca.pem(),
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
    }
}

/// What `openssl req -x509` makes by default: one self-signed certificate
/// for `localhost` and 127.0.0.1 that is also a CA, served as the
/// server's own and trusted as the CA.
pub fn self_signed_ca_as_server() -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    TestPki {
        ca_pem: cert.pem(),
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
    }
}

/// Writes `pem` to a fresh file under the target directory.
pub fn write_temp(name: &str, pem: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("torsion-http-{}-{}", std::process::id(), name));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ca.pem");
    std::fs::write(&path, pem).unwrap();
    path
}

/// A rustls server on a thread: for each of `connections`, a handshake,
/// then `response` to whatever request comes.
pub fn tls_server(pki: &TestPki, connections: usize, response: &'static [u8]) -> SocketAddr {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(pki.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.key_der.clone())),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for _ in 0..connections {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let config = config.clone();
            thread::spawn(move || serve_tls(config, stream, response));
        }
    });
    addr
}

fn serve_tls(config: Arc<rustls::ServerConfig>, stream: TcpStream, response: &[u8]) {
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, stream);
    let head = read_head(&mut tls);
    if head.is_empty() {
        return; // the handshake failed: the client refused our certificate
    }
    let _ = tls.write_all(response);
    tls.conn.send_close_notify();
    let _ = tls.flush();
}
