//! The interop suite: Torsion against real third-party programs. Not part of
//! `cargo test --workspace` (it needs programs a fresh machine lacks);
//! `.ci/run` installs them and runs `cargo test -p torsion-tests --features
//! interop --test interop`.

use std::path::PathBuf;
use std::process::{Command, Output};

use torsion_tests::{Reference, Server};

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop")
}

fn python(args: &[&str]) -> Output {
    Command::new("python3")
        .current_dir(interop_dir())
        .args(args)
        .output()
        .expect("run python3")
}

fn torsion_memcached() -> Server {
    Server::start("torsion-memcached", &["-p", "0"])
}

/// The seeds' multiclient (Python's socket module) against torsion-upper,
/// sequentially and with one thread per word.
#[test]
fn python_multiclient_against_torsion_upper() {
    let server = Server::start("torsion-upper", &["-p", "0"]);
    let greeting = "Hi! Send me text to convert to uppercase\n";
    for mode in [&[][..], &["--threads"][..]] {
        let mut args = vec!["multiclient.py", server.addr()];
        args.extend_from_slice(mode);
        args.extend(["a", "b", "twisted is cool"]);
        let output = python(&args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let expected = format!("{greeting}A\r\n{greeting}B\r\n{greeting}TWISTED IS COOL\r\n");
        assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    }
}

fn memccapable(addr: &str, mode: &str) {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let output = Command::new("memccapable")
        .args(["-h", host, "-p", port, mode])
        .output()
        .expect("run memccapable");
    let report =
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "memccapable {mode} failed:\n{report}");
    assert!(report.contains("All tests passed"), "{report}");
    assert!(!report.contains("[FAIL]"), "{report}");
}

/// libmemcached's memccapable: every ASCII test.
#[test]
fn memccapable_ascii_passes() {
    let server = torsion_memcached();
    memccapable(server.addr(), "-a");
}

/// A client library's transcript against torsion-memcached equals its
/// transcript against Debian's memcached.
fn same_transcript_as_memcached(library: &str) {
    let reference = Reference::memcached(&[]);
    let expected = python(&["memcache_transcript.py", library, &reference.addr()]);
    assert!(
        expected.status.success(),
        "{}",
        String::from_utf8_lossy(&expected.stderr)
    );
    let server = torsion_memcached();
    let got = python(&["memcache_transcript.py", library, server.addr()]);
    assert!(got.status.success(), "{}", String::from_utf8_lossy(&got.stderr));
    let expected = String::from_utf8_lossy(&expected.stdout);
    let got = String::from_utf8_lossy(&got.stdout);
    assert!(expected.lines().count() > 25, "a short transcript:\n{expected}");
    for (want, have) in expected.lines().zip(got.lines()) {
        assert_eq!(have, want, "{library} sees a difference");
    }
    assert_eq!(got.lines().count(), expected.lines().count());
}

#[test]
fn pymemcache_cannot_tell_torsion_from_memcached() {
    same_transcript_as_memcached("pymemcache");
}

#[test]
fn python_memcached_cannot_tell_torsion_from_memcached() {
    same_transcript_as_memcached("python-memcached");
}

/// libmemcached's load generator, with every value it reads back verified.
/// (Its keys start with bytes 0x10: memcached takes them, and so must we.)
#[test]
fn memcaslap_runs_clean_with_full_verification() {
    let server = torsion_memcached();
    let output = Command::new("memcaslap")
        .args([
            "-s",
            server.addr(),
            "-T",
            "1",
            "-c",
            "16",
            "-X",
            "100",
            "-x",
            "20000",
            "-v",
            "1.0",
        ])
        .output()
        .expect("run memcaslap");
    let report =
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    let field = |name: &str| -> u64 {
        report
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{report}"))
    };
    assert_eq!(field("cmd_get:") + field("cmd_set:"), 20_000, "{report}");
    assert_eq!(field("get_misses:"), 0, "{report}");
    assert_eq!(field("verify_failed:"), 0, "{report}");
    assert_eq!(field("verify_misses:"), 0, "{report}");
}

// ----- HTTP (issue 7): the client against nginx and Python's ssl, the
// server against curl, wrk and headless Chromium. -----

#[path = "http_util/mod.rs"]
mod http_util;

mod http_interop {
    use std::io::Read;
    use std::net::TcpStream;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use torsion::Reactor;
    use torsion_clients::http::{FetchError, HttpClient, Response};
    use torsion_protocols::http::Headers;
    use torsion_tests::{binary, free_port, Reference, Server};

    use super::interop_dir;

    /// A fresh folder of its own for each call (tests run in parallel).
    fn scratch(name: &str) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("torsion-interop-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn client() -> HttpClient {
        HttpClient::new().timeout(Some(Duration::from_secs(20)))
    }

    fn fetch(r: &mut Reactor, client: &HttpClient, url: &str) -> Result<Response, torsion::Failure> {
        let d = client.get(r, url);
        r.run_until_complete(d).expect("the reactor runs")
    }

    /// Debian's nginx in the foreground, one process, everything under `dir`.
    struct Nginx {
        child: Child,
        port: u16,
        www: PathBuf,
    }

    impl Drop for Nginx {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Nginx {
        fn start() -> Nginx {
            let dir = scratch("nginx");
            let www = dir.join("www");
            std::fs::create_dir_all(www.join("ssi")).unwrap();
            std::fs::write(www.join("index.html"), "<title>nginx index</title>\n").unwrap();
            let big: String = (0..50_000).map(|i| format!("{i:08}\n")).collect();
            std::fs::write(www.join("big.txt"), big).unwrap();
            std::fs::write(
                www.join("ssi").join("page.html"),
                "before <!--# echo var=\"DOCUMENT_URI\" --> after\n",
            )
            .unwrap();
            for _ in 0..5 {
                let port = free_port();
                let conf = dir.join("nginx.conf");
                let d = dir.display();
                std::fs::write(
                    &conf,
                    format!(
                        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
                         events {{ worker_connections 64; }}\n\
                         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
                         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
                         keepalive_timeout 30;\n  absolute_redirect off;\n  add_header X-Connection $connection always;\n\
                         server {{\n    listen 127.0.0.1:{port};\n    root {www};\n    location /ssi/ {{ ssi on; }}\n\
                         location = /old {{ return 301 /index.html; }}\n    location = /rel {{ return 302 ssi/page.html; }}\n\
                         location = /abs {{ return 307 http://127.0.0.1:{port}/old; }}\n\
                         location = /loop {{ return 302 /loop; }}\n  }}\n}}\n",
                        www = www.display()
                    ),
                )
                .unwrap();
                let mut child = Command::new("nginx")
                    .args(["-c", conf.to_str().unwrap(), "-p", dir.to_str().unwrap()])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start nginx");
                let deadline = Instant::now() + Duration::from_secs(10);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                        return Nginx { child, port, www };
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
            panic!("nginx did not start");
        }

        fn url(&self, path: &str) -> String {
            format!("http://127.0.0.1:{}{path}", self.port)
        }
    }

    #[test]
    fn client_reads_nginx_static_files_chunked_responses_and_redirects() {
        let nginx = Nginx::start();
        let mut r = Reactor::new().unwrap();
        let page = fetch(&mut r, &client(), &nginx.url("/index.html")).unwrap();
        assert_eq!(
            (page.status, page.text().as_str()),
            (200, "<title>nginx index</title>\n")
        );
        assert_eq!(page.header("server").map(|s| s.starts_with("nginx")), Some(true));
        let big = fetch(&mut r, &client(), &nginx.url("/big.txt")).unwrap();
        assert_eq!(big.body, std::fs::read(nginx.www.join("big.txt")).unwrap());
        let ssi = fetch(&mut r, &client(), &nginx.url("/ssi/page.html")).unwrap();
        assert_eq!(ssi.header("transfer-encoding"), Some("chunked"));
        assert_eq!(ssi.text(), "before /ssi/page.html after\n");
        let moved = fetch(&mut r, &client(), &nginx.url("/old")).unwrap();
        assert_eq!(
            (moved.status, moved.url.to_string()),
            (200, nginx.url("/index.html"))
        );
        let relative = fetch(&mut r, &client(), &nginx.url("/rel")).unwrap();
        assert_eq!(relative.url.to_string(), nginx.url("/ssi/page.html"));
        let absolute = fetch(&mut r, &client(), &nginx.url("/abs")).unwrap();
        assert_eq!(absolute.text(), "<title>nginx index</title>\n");
        let looping = fetch(&mut r, &client(), &nginx.url("/loop")).unwrap_err();
        assert!(matches!(
            looping.find::<FetchError>(),
            Some(FetchError::TooManyRedirects { .. })
        ));
        let missing = fetch(&mut r, &client(), &nginx.url("/missing")).unwrap();
        assert_eq!(missing.status, 404);
        let head = client().request(
            &mut r,
            "HEAD",
            &nginx.url("/big.txt"),
            &Headers::new(),
            Bytes::new(),
        );
        let head = r.run_until_complete(head).unwrap().unwrap();
        assert!(head.body.is_empty());
        assert_eq!(head.header("content-length"), Some("450000"));
    }

    /// With `Connection: keep-alive` nginx keeps the connection open (30 s
    /// here): the client must end the response by its length or its last
    /// chunk, not wait for the close.
    #[test]
    fn client_ends_keep_alive_responses_without_waiting_for_the_close() {
        let nginx = Nginx::start();
        let mut r = Reactor::new().unwrap();
        let mut headers = Headers::new();
        headers.set("Connection", "keep-alive").unwrap();
        for path in ["/big.txt", "/ssi/page.html"] {
            let started = Instant::now();
            let d = client().request(&mut r, "GET", &nginx.url(path), &headers, Bytes::new());
            let page = r.run_until_complete(d).unwrap().unwrap();
            assert_eq!(page.header("connection"), Some("keep-alive"));
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{path} waited for the close"
            );
        }
        let out = Command::new(binary("torsion-httpget"))
            .arg(nginx.url("/rel"))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "before /ssi/page.html after\n"
        );
    }

    fn test_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Torsion interop CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let paths = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&paths.0, ca.pem()).unwrap();
        std::fs::write(&paths.1, cert.pem()).unwrap();
        std::fs::write(&paths.2, key.serialize_pem()).unwrap();
        paths
    }

    #[test]
    fn client_speaks_tls_to_python_ssl_with_a_test_ca() {
        let dir = scratch("tls");
        let (ca, cert, key) = test_pki(&dir);
        let script = interop_dir().join("https_server.py");
        let server = Reference::start(
            "python3",
            &[
                script.to_str().unwrap(),
                "{port}",
                cert.to_str().unwrap(),
                key.to_str().unwrap(),
            ],
        );
        let mut r = Reactor::new().unwrap();
        for host in ["localhost", "127.0.0.1"] {
            let url = format!("https://{host}:{}/", server.port());
            let page = fetch(&mut r, &client().ca_file(&ca), &url).unwrap();
            assert_eq!(page.text(), "hello over tls\n");
        }
        let refused = fetch(
            &mut r,
            &client(),
            &format!("https://127.0.0.1:{}/", server.port()),
        )
        .unwrap_err();
        assert!(
            matches!(refused.find::<FetchError>(), Some(FetchError::Tls { .. })),
            "{refused}"
        );
        let out = Command::new(binary("torsion-httpget"))
            .args([
                "--ca-file",
                ca.to_str().unwrap(),
                &format!("https://localhost:{}/", server.port()),
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello over tls\n");
    }

    fn demo() -> Server {
        Server::start("torsion-web-demo", &["-p", "0"])
    }

    fn curl(args: &[&str]) -> String {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "20"])
            .args(args)
            .output()
            .expect("run curl");
        assert!(
            out.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    #[test]
    fn curl_keep_alive_chunked_head_and_forms() {
        let server = demo();
        let base = format!("http://{}", server.addr());
        // Two URLs, one connection.
        let verbose = curl(&[
            "-v",
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            &format!("{base}/"),
            &format!("{base}/page"),
        ]);
        assert!(verbose.contains("Re-using existing connection"), "{verbose}");
        // A chunked response, decoded.
        let long = curl(&["-i", &format!("{base}/long")]);
        assert!(long.contains("Transfer-Encoding: chunked"), "{long}");
        assert!(long.ends_with("\r\n\r\nABC"), "{long}");
        // HEAD and status codes.
        let head = curl(&["-I", &format!("{base}/page")]);
        assert!(
            head.starts_with("HTTP/1.1 200 OK") && head.contains("Content-Length:"),
            "{head}"
        );
        assert_eq!(
            curl(&[
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &format!("{base}/missing")
            ]),
            "404"
        );
        assert_eq!(
            curl(&[
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                "DELETE",
                &format!("{base}/page")
            ]),
            "405"
        );
        // A POSTed form, escaped when shown.
        let form = curl(&[
            "--data-urlencode",
            "name=<b>Jürgen & co</b>",
            &format!("{base}/form"),
        ]);
        assert!(
            form.contains("<li>name = &lt;b&gt;Jürgen &amp; co&lt;/b&gt;</li>"),
            "{form}"
        );
        // A large form over curl's Expect: 100-continue threshold.
        let big = format!("name={}", "x".repeat(5000));
        let started = Instant::now();
        let form = curl(&["-d", &big, &format!("{base}/form")]);
        assert!(form.contains(&"x".repeat(5000)));
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "curl waited for 100 Continue"
        );
    }

    #[test]
    fn curl_n_shows_long_as_it_streams() {
        let server = demo();
        let started = Instant::now();
        let mut child = Command::new("curl")
            .args([
                "-sS",
                "-N",
                "--max-time",
                "20",
                &format!("http://{}/long", server.addr()),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut arrivals = Vec::new();
        let mut byte = [0u8; 1];
        while let Ok(1) = out.read(&mut byte) {
            arrivals.push((byte[0] as char, started.elapsed()));
        }
        assert!(child.wait().unwrap().success());
        let letters: String = arrivals.iter().map(|(c, _)| *c).collect();
        assert_eq!(letters, "ABC");
        assert!(arrivals[0].1 < Duration::from_millis(900), "{arrivals:?}");
        assert!(arrivals[1].1 >= Duration::from_millis(950), "{arrivals:?}");
        assert!(arrivals[2].1 >= Duration::from_millis(1950), "{arrivals:?}");
    }

    #[test]
    fn wrk_for_three_seconds_without_errors() {
        let server = demo();
        let out = Command::new("wrk")
            .args([
                "-t",
                "2",
                "-c",
                "32",
                "-d",
                "3s",
                "--timeout",
                "5s",
                &format!("http://{}/page", server.addr()),
            ])
            .output()
            .expect("run wrk");
        let report =
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{report}");
        assert!(!report.contains("Socket errors"), "{report}");
        assert!(!report.contains("Non-2xx or 3xx"), "{report}");
        let requests: u64 = report
            .lines()
            .find_map(|l| {
                l.trim()
                    .split_once(" requests in ")
                    .map(|(n, _)| n.trim().parse().unwrap_or(0))
            })
            .unwrap_or_else(|| panic!("{report}"));
        assert!(requests > 1000, "{report}");
        // Still serving afterwards.
        assert!(curl(&[&format!("http://{}/page", server.addr())]).contains("A PAGE"));
    }

    /// Runs headless Chromium with `args` on `url`, bounded in time.
    fn chromium(args: &[&str], url: &str) -> Vec<u8> {
        let profile = scratch("chromium");
        let mut child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(args)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run chromium");
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out);
            out
        });
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish in time");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        reader.join().unwrap()
    }

    #[test]
    fn chromium_shows_the_pages() {
        let server = demo();
        let base = format!("http://{}", server.addr());
        let dom = String::from_utf8(chromium(&["--dump-dom"], &format!("{base}/"))).unwrap();
        assert!(dom.contains("<title>Torsion web demo</title>"), "{dom}");
        assert!(dom.contains("<h1>Torsion web demo</h1>"), "{dom}");
        let dom = String::from_utf8(chromium(&["--dump-dom"], &format!("{base}/long"))).unwrap();
        assert!(
            dom.contains("ABC"),
            "the browser waited for the streamed page: {dom}"
        );
        let dom = String::from_utf8(chromium(&["--dump-dom"], &format!("{base}/fib?num=100"))).unwrap();
        assert!(dom.contains("354224848179261915075"), "{dom}");
        let dom = String::from_utf8(chromium(
            &["--dump-dom"],
            &format!("{base}/fetch?url={base}/page"),
        ))
        .unwrap();
        assert!(dom.contains("A PAGE"), "{dom}");
        // A screenshot of the page: a PNG with something drawn on it (a
        // blank page of the same size compresses to far fewer bytes).
        let dir = scratch("shots");
        let page = dir.join("page.png");
        let blank = dir.join("blank.png");
        let shot = |path: &Path, url: &str| {
            chromium(
                &[
                    "--window-size=900,700",
                    &format!("--screenshot={}", path.display()),
                ],
                url,
            );
            std::fs::read(path).expect("a screenshot")
        };
        let page_png = shot(&page, &format!("{base}/"));
        let blank_png = shot(&blank, "about:blank");
        assert_eq!(&page_png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(
            page_png.len() > 4 * blank_png.len(),
            "{} vs {}",
            page_png.len(),
            blank_png.len()
        );
    }
}
