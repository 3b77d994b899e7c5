//! The HTTP client (library and torsion-httpget) against Python's
//! `http.server`: static files, directory listings, its redirects, 404s.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use torsion::Reactor;
use torsion_clients::http::{FetchError, HttpClient};
use torsion_tests::{binary, Reference};

fn www() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("torsion-http-python-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("hello.txt"), "hello from python\n").unwrap();
    let big: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(dir.join("big.txt"), big).unwrap();
    std::fs::write(dir.join("sub").join("index.html"), "<title>sub</title>").unwrap();
    dir
}

fn python_server(dir: &std::path::Path) -> Reference {
    Reference::start(
        "python3",
        &[
            "-m",
            "http.server",
            "{port}",
            "--bind",
            "127.0.0.1",
            "--directory",
            dir.to_str().unwrap(),
        ],
    )
}

fn client() -> HttpClient {
    HttpClient::new().timeout(Some(Duration::from_secs(20)))
}

#[test]
fn get_page_reads_python_http_server() {
    let dir = www();
    let server = python_server(&dir);
    let base = format!("http://{}", server.addr());
    let mut r = Reactor::new().unwrap();
    let d = client().get(&mut r, &format!("{base}/hello.txt"));
    let page = r.run_until_complete(d).unwrap().unwrap();
    assert_eq!((page.status, page.text().as_str()), (200, "hello from python\n"));
    let d = client().get(&mut r, &format!("{base}/big.txt"));
    let page = r.run_until_complete(d).unwrap().unwrap();
    assert_eq!(page.body, std::fs::read(dir.join("big.txt")).unwrap());
    // http.server redirects a directory without its slash (301 to "/sub/").
    let d = client().get(&mut r, &format!("{base}/sub"));
    let page = r.run_until_complete(d).unwrap().unwrap();
    assert_eq!((page.status, page.text().as_str()), (200, "<title>sub</title>"));
    assert_eq!(page.url.to_string(), format!("{base}/sub/"));
    let d = client().get(&mut r, &format!("{base}/"));
    assert!(r
        .run_until_complete(d)
        .unwrap()
        .unwrap()
        .text()
        .contains("hello.txt"));
    let d = client().get(&mut r, &format!("{base}/missing"));
    assert_eq!(r.run_until_complete(d).unwrap().unwrap().status, 404);
    let d = client().max_body(1000).get(&mut r, &format!("{base}/big.txt"));
    let failure = r.run_until_complete(d).unwrap().unwrap_err();
    assert_eq!(
        failure.find::<FetchError>(),
        Some(&FetchError::BodyTooLarge { limit: 1000 })
    );
}

#[test]
fn torsion_httpget_prints_bodies_heads_and_failures() {
    let dir = www();
    let server = python_server(&dir);
    let httpget = binary("torsion-httpget");
    let out = Command::new(&httpget)
        .arg(format!("http://{}/hello.txt", server.addr()))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, b"hello from python\n");
    let out = Command::new(&httpget)
        .args(["-i", &format!("http://{}/sub", server.addr())])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n<title>sub</title>"), "{text}");
    // The seeds' form: host:port and a path.
    let out = Command::new(&httpget)
        .args([&server.addr(), "/hello.txt"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"hello from python\n");
    let out = Command::new(&httpget)
        .arg("http://127.0.0.1:1/")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "torsion-httpget: connection refused by 127.0.0.1:1\n"
    );
    let out = Command::new(&httpget).arg("gopher://x/").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad URL"));
}
