//! https: a rustls server with a certificate from a test CA made here.

mod http_util;

use std::time::Duration;

use http_util::{
    fetch_error, scripted, self_signed_ca_as_server, test_pki, test_pki_for, tls_server, wait, write_temp,
    Script,
};
use torsion::Reactor;
use torsion_clients::http::{FetchError, HttpClient};

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nsecret message";

fn client() -> HttpClient {
    HttpClient::new().timeout(Some(Duration::from_secs(10)))
}

#[test]
fn https_with_the_test_ca_works() {
    let pki = test_pki();
    let ca = write_temp("ok", &pki.ca_pem);
    let addr = tls_server(&pki, 2, RESPONSE);
    let mut r = Reactor::new().unwrap();
    for host in ["127.0.0.1", "localhost"] {
        let d = client()
            .ca_file(&ca)
            .get(&mut r, &format!("https://{host}:{}/", addr.port()));
        let page = wait(&mut r, d).unwrap();
        assert_eq!((page.status, page.text().as_str()), (200, "secret message"));
    }
}

#[test]
fn an_untrusted_certificate_is_a_tls_error() {
    let pki = test_pki();
    let addr = tls_server(&pki, 1, RESPONSE);
    let mut r = Reactor::new().unwrap();
    // The system's roots do not know the test CA.
    let d = client().get(&mut r, &format!("https://127.0.0.1:{}/", addr.port()));
    match fetch_error(wait(&mut r, d)) {
        FetchError::Tls { reason } => assert!(
            reason.contains("UnknownIssuer") || reason.contains("issuer"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_certificate_for_another_name_is_a_tls_error() {
    let pki = test_pki_for(&["example.test"]);
    let ca = write_temp("name", &pki.ca_pem);
    let addr = tls_server(&pki, 1, RESPONSE);
    let mut r = Reactor::new().unwrap();
    let d = client()
        .ca_file(&ca)
        .get(&mut r, &format!("https://127.0.0.1:{}/", addr.port()));
    assert!(matches!(fetch_error(wait(&mut r, d)), FetchError::Tls { .. }));
}

#[test]
fn a_missing_ca_file_and_a_plain_server_are_tls_errors() {
    let mut r = Reactor::new().unwrap();
    let d = client()
        .ca_file("/nonexistent/ca.pem")
        .get(&mut r, "https://127.0.0.1:1/");
    assert!(matches!(fetch_error(wait(&mut r, d)), FetchError::Tls { .. }));
    let plain = scripted(vec![Script::Blurt(
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec(),
    )]);
    let pki = test_pki();
    let ca = write_temp("plain", &pki.ca_pem);
    let d = client()
        .ca_file(&ca)
        .get(&mut r, &format!("https://{}/", plain.addr));
    assert!(matches!(fetch_error(wait(&mut r, d)), FetchError::Tls { .. }));
}

#[test]
fn torsion_httpget_explains_a_self_signed_ca_certificate_and_an_unknown_issuer() {
    // `openssl req -x509`'s certificate, trusted with --ca-file: webpki's
    // CaUsedAsEndEntity, which used to be printed as a Rust debug value.
    let pki = self_signed_ca_as_server();
    let ca = write_temp("self-signed", &pki.ca_pem);
    let addr = tls_server(&pki, 1, RESPONSE);
    let url = format!("https://127.0.0.1:{}/", addr.port());
    let httpget = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_torsion-httpget"))
            .args(["--timeout", "20"])
            .args(args)
            .output()
            .expect("run torsion-httpget")
    };
    let out = httpget(&["--ca-file", ca.to_str().unwrap(), &url]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the server's certificate is a CA certificate, which cannot be a server's own"),
        "{stderr}"
    );
    assert!(stderr.contains("--ca-file"), "{stderr}");
    assert!(!stderr.contains("OtherError"), "{stderr}");
    // A certificate from a CA the system's roots do not know.
    let private = tls_server(&test_pki(), 1, RESPONSE);
    let out = httpget(&[&format!("https://127.0.0.1:{}/", private.port())]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the server's certificate has an unknown issuer"),
        "{stderr}"
    );
}
