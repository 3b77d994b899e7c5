//! torsion-kvweb as shipped, in front of the real torsion-kv, over real
//! sockets on 127.0.0.1: the forms (POST, form-encoded) and the JSON API,
//! escaping, both of torsion-kv's protocols, torsion-kv going down (503)
//! and coming back, startup without it, signals and flags.

mod http_util;

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use http_util::{Conn, Resp};
use torsion_protocols::http::percent_encode;
use torsion_tests::{binary, free_port, read_line, send, Server, TIMEOUT};

fn torsion_kv(port: &str) -> Server {
    Server::start("torsion-kv", &["-p", port, "--amp-port", "0", "--pb-port", "0"])
}

/// torsion-kv on the port it had before (it was stopped), retrying while
/// the port is not free again yet.
fn restart_kv_on(port: u16) -> Server {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mut command = Command::new(binary("torsion-kv"));
        command.args(["-p", &port.to_string(), "--amp-port", "0", "--pb-port", "0"]);
        // Server::spawn panics if the server exits without announcing;
        // check the port first instead.
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Server::spawn(command);
        }
        assert!(Instant::now() < deadline, "port {port} never came free");
        thread::sleep(Duration::from_millis(50));
    }
}

fn amp_addr(server: &Server) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let out = String::from_utf8_lossy(&server.stdout()).into_owned();
        if let Some(addr) = out
            .lines()
            .find_map(|l| l.strip_prefix("torsion-kv amp listening on "))
        {
            return addr.trim().to_string();
        }
        assert!(Instant::now() < deadline, "no AMP announcement in {out:?}");
        thread::sleep(Duration::from_millis(10));
    }
}

fn kvweb(kv: &str, extra: &[&str]) -> Server {
    let mut args = vec!["-p", "0", "--kv", kv, "--reconnect-max", "0.2"];
    args.extend_from_slice(extra);
    Server::start("torsion-kvweb", &args)
}

fn conn(server: &Server) -> Conn {
    Conn::new(server.connect())
}

fn request(c: &mut Conn, method: &str, path: &str, headers: &str, body: &[u8]) -> Resp {
    let mut bytes = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    c.send(&bytes);
    c.response(method)
}

/// POSTs a form as a browser does.
fn post_form(c: &mut Conn, path: &str, fields: &[(&str, &str)]) -> Resp {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    request(
        c,
        "POST",
        path,
        "Content-Type: application/x-www-form-urlencoded\r\n",
        body.join("&").as_bytes(),
    )
}

/// What torsion-kv itself holds for `key`, over its line protocol.
fn kv_get(kv: &Server, key: &str) -> String {
    let mut line = kv.connect();
    send(&mut line, format!("get {key}\r\n").as_bytes());
    read_line(&mut line)
}

#[test]
fn forms_set_get_and_delete_through_torsion_kv() {
    let kv = torsion_kv("0");
    let web = kvweb(kv.addr(), &[]);
    let mut c = conn(&web);
    let index = c.get("/");
    assert_eq!(index.status, 200);
    assert!(
        index
            .text()
            .contains(&format!("Connected to torsion-kv at {}.", kv.addr())),
        "{}",
        index.text()
    );

    let r = post_form(&mut c, "/set", &[("key", "greeting"), ("value", "hello world")]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("<pre id=\"value\">hello world</pre>"));
    assert_eq!(kv_get(&kv, "greeting"), "VALUE greeting hello world\r\n");

    let r = c.get("/get?key=greeting");
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("<pre id=\"value\">hello world</pre>"),
        "{}",
        r.text()
    );

    let r = post_form(&mut c, "/delete", &[("key", "greeting")]);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Deleted <code id=\"key\">greeting</code>"));
    assert_eq!(kv_get(&kv, "greeting"), "GET_NOT_FOUND greeting\r\n");
    let r = c.get("/get?key=greeting");
    assert_eq!(r.status, 404);
    assert!(
        r.text().contains("No key &quot;greeting&quot; in the store"),
        "{}",
        r.text()
    );
    // Mutations by GET are refused.
    assert_eq!(c.get("/set?key=k&value=v").status, 405);
    assert_eq!(kv_get(&kv, "k"), "GET_NOT_FOUND k\r\n");
    // A key the line protocol cannot carry: a readable 400.
    let r = post_form(&mut c, "/set", &[("key", "two words"), ("value", "v")]);
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .contains("The store cannot take that key: holds whitespace."),
        "{}",
        r.text()
    );
}

#[test]
fn a_script_in_a_value_comes_back_escaped() {
    let kv = torsion_kv("0");
    let web = kvweb(kv.addr(), &[]);
    let mut c = conn(&web);
    let script = "<script>alert(1)</script>";
    assert_eq!(
        post_form(&mut c, "/set", &[("key", "xss"), ("value", script)]).status,
        200
    );
    assert_eq!(kv_get(&kv, "xss"), format!("VALUE xss {script}\r\n"));
    for r in [
        c.get("/get?key=xss"),
        post_form(&mut c, "/set", &[("key", "xss"), ("value", script)]),
    ] {
        let html = r.text();
        assert!(
            html.contains("<pre id=\"value\">&lt;script&gt;alert(1)&lt;/script&gt;</pre>"),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
    }
    let r = c.get("/api/keys/xss");
    assert_eq!(
        r.text(),
        "{\"key\":\"xss\",\"value\":\"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\"}\n"
    );
}

#[test]
fn the_json_api_through_torsion_kv() {
    let kv = torsion_kv("0");
    let web = kvweb(kv.addr(), &[]);
    let mut c = conn(&web);
    let r = request(&mut c, "PUT", "/api/keys/greeting", "", b"hello world");
    assert_eq!(
        (r.status, r.text().as_str()),
        (201, "{\"key\":\"greeting\",\"value\":\"hello world\"}\n")
    );
    assert_eq!(r.headers.get("content-type"), Some("application/json"));
    assert_eq!(r.headers.get("location"), Some("/api/keys/greeting"));
    assert_eq!(kv_get(&kv, "greeting"), "VALUE greeting hello world\r\n");
    assert_eq!(
        request(&mut c, "PUT", "/api/keys/greeting", "", b"again").status,
        200
    );
    let r = c.get("/api/keys/greeting");
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "{\"key\":\"greeting\",\"value\":\"again\"}\n")
    );
    let r = request(&mut c, "DELETE", "/api/keys/greeting", "", b"");
    assert_eq!((r.status, r.body.len()), (204, 0));
    let r = c.get("/api/keys/greeting");
    assert_eq!(r.status, 404);
    assert!(
        r.text()
            .starts_with("{\"error\":\"No key \\\"greeting\\\" in the store"),
        "{}",
        r.text()
    );
    assert_eq!(
        request(&mut c, "DELETE", "/api/keys/greeting", "", b"").status,
        404
    );
    // Bad input: 400 with a JSON reason.
    let r = request(&mut c, "PUT", "/api/keys/two%20words", "", b"v");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        "{\"error\":\"The store cannot take that key: holds whitespace.\",\"key\":\"two words\"}\n"
    );
    assert_eq!(request(&mut c, "PUT", "/api/keys/k", "", b"a\r\nb").status, 400);
    assert_eq!(request(&mut c, "PUT", "/api/keys/k", "", b"\xff").status, 400);
    assert_eq!(c.get("/api/keys/").status, 400);
    assert_eq!(request(&mut c, "POST", "/api/keys/k", "", b"v").status, 405);
    assert_eq!(kv_get(&kv, "k"), "GET_NOT_FOUND k\r\n");
}

#[test]
fn over_amp_keys_may_hold_spaces() {
    let kv = torsion_kv("0");
    let web = kvweb(&amp_addr(&kv), &["--amp"]);
    let mut c = conn(&web);
    assert!(c
        .get("/")
        .text()
        .contains(&format!("Connected to torsion-kv at {}.", amp_addr(&kv))));
    let r = post_form(&mut c, "/set", &[("key", "two words"), ("value", "<b>v</b>")]);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = c.get("/get?key=two+words");
    assert!(
        r.text().contains("<pre id=\"value\">&lt;b&gt;v&lt;/b&gt;</pre>"),
        "{}",
        r.text()
    );
    assert_eq!(request(&mut c, "PUT", "/api/keys/k", "", b"v").status, 201);
    assert_eq!(kv_get(&kv, "k"), "VALUE k v\r\n");
    assert_eq!(
        request(&mut c, "DELETE", "/api/keys/two%20words", "", b"").status,
        204
    );
    assert_eq!(c.get("/get?key=two+words").status, 404);
}

/// Polls `path` until it answers `status`, reconnecting as needed.
fn until_status(web: &Server, path: &str, status: u16) -> Resp {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let r = conn(web).get(path);
        if r.status == status {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "{path} still answers {}: {}",
            r.status,
            r.text()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn torsion_kv_down_is_a_503_page_and_kvweb_reconnects_when_it_is_back() {
    let mut kv = torsion_kv("0");
    let port = kv.socket_addr().port();
    let web = kvweb(kv.addr(), &[]);
    let mut c = conn(&web);
    assert_eq!(
        post_form(&mut c, "/set", &[("key", "k"), ("value", "before")]).status,
        200
    );

    kv.signal(libc::SIGTERM);
    assert!(kv.wait().success());
    // The same keep-alive connection to kvweb: every page says so.
    let r = until_status(&web, "/get?key=k", 503);
    assert_eq!(r.headers.get("content-type"), Some("text/html; charset=utf-8"));
    let message = format!("torsion-kv at 127.0.0.1:{port} is unreachable");
    assert!(r.text().contains(&message), "{}", r.text());
    assert!(
        r.text().contains("kvweb reconnects as soon as it is back"),
        "{}",
        r.text()
    );
    let r = post_form(&mut c, "/set", &[("key", "k"), ("value", "v")]);
    assert_eq!(r.status, 503);
    assert!(r.text().contains(&message));
    let r = request(&mut c, "PUT", "/api/keys/k", "", b"v");
    assert_eq!(r.status, 503);
    assert!(
        r.text().starts_with(&format!("{{\"error\":\"{message}")),
        "{}",
        r.text()
    );
    let index = c.get("/");
    assert_eq!(index.status, 200);
    // Between attempts, or during one (they come every 0.2 s).
    let html = index.text();
    assert!(
        html.contains("class=\"unreachable\"") || html.contains("class=\"connecting\""),
        "{html}"
    );

    // torsion-kv comes back (empty: its store lived in the old process).
    let kv = restart_kv_on(port);
    until_status(&web, "/get?key=k", 404);
    assert_eq!(
        post_form(&mut c, "/set", &[("key", "k"), ("value", "after")]).status,
        200
    );
    assert_eq!(kv_get(&kv, "k"), "VALUE k after\r\n");
    assert!(c.get("/").text().contains("class=\"connected\""));
    web.wait_for_stderr(&format!("connected to torsion-kv at 127.0.0.1:{port}"));
}

#[test]
fn kvweb_starts_without_torsion_kv_and_connects_once_it_comes() {
    let port = free_port();
    let web = kvweb(&format!("127.0.0.1:{port}"), &[]);
    let r = conn(&web).get("/get?key=k");
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("is unreachable"), "{}", r.text());
    let r = request(&mut conn(&web), "DELETE", "/api/keys/k", "", b"");
    assert_eq!(r.status, 503);
    let _kv = restart_kv_on(port);
    until_status(&web, "/api/keys/k", 404);
}

#[test]
fn sigterm_and_sigint_exit_zero_with_clients_connected() {
    let kv = torsion_kv("0");
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let mut web = kvweb(kv.addr(), &[]);
        let mut c = conn(&web);
        assert_eq!(c.get("/").status, 200);
        web.signal(signal);
        assert!(web.wait().success(), "{}", web.stderr());
        assert!(c.closed());
    }
}

#[test]
fn help_and_bad_flags() {
    let help = Command::new(binary("torsion-kvweb"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--port",
        "--listen",
        "--kv",
        "--amp",
        "--kv-timeout",
        "--reconnect-max",
    ] {
        assert!(text.contains(flag), "{flag} missing from {text}");
    }
    for (args, says) in [
        (&["-p", "0", "--kv", "nowhere"][..], "expected HOST:PORT"),
        (&["-p", "0", "--kv", "127.0.0.1:http"][..], "is not a port"),
        (&["-p", "0", "--kv-timeout", "0"][..], "above 0"),
    ] {
        let out = Command::new(binary("torsion-kvweb")).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn a_missing_key_page_states_no_lifetime_it_cannot_know() {
    // torsion-kv keeps keys 1 s here: the page must not say 15 s.
    let kv = Server::start(
        "torsion-kv",
        &["-p", "0", "--amp-port", "0", "--pb-port", "0", "--ttl", "1"],
    );
    let web = kvweb(kv.addr(), &[]);
    let mut c = conn(&web);
    let r = post_form(&mut c, "/set", &[("key", "brief"), ("value", "soon gone")]);
    assert_eq!(r.status, 200, "{}", r.text());
    // Wait for the expiry itself, however slow the machine.
    let deadline = Instant::now() + TIMEOUT;
    let gone = loop {
        let r = c.get("/get?key=brief");
        if r.status == 404 {
            break r;
        }
        assert!(Instant::now() < deadline, "the key never expired");
        thread::sleep(Duration::from_millis(100));
    };
    let text = gone.text();
    assert!(
        text.contains("No key &quot;brief&quot; in the store: it was never set, was deleted, or expired"),
        "{text}"
    );
    assert!(text.contains("its --ttl after the last set"), "{text}");
    assert!(!text.contains("15 s"), "{text}");
}
