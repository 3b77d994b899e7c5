//! torsion-kvweb's pages and JSON API byte by byte, without sockets: the
//! site over a store in this process, and over a scripted backend whose
//! answers the test gives (later, or failing) to see every status.

#[path = "web/util.rs"]
mod util;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use torsion::defer::TimedOut;
use torsion::testing::StringTransport;
use torsion::{CloseReason, Deferred, Failure, Reactor};
use torsion_clients::kv::{KeyNotFound, KeyValue, KvError};
use torsion_protocols::kv::Limits;
use torsion_servers::kv::{KvStore, StoreConfig};
use torsion_servers::kvweb::{self, Backend, Health, InProcess, Unavailable, PAGE_POLICY};
use torsion_servers::web::Site;
use util::{replies, Reply};

// ----- helpers ----------------------------------------------------------------

fn connect_to(backend: Rc<dyn Backend>) -> StringTransport {
    let mut site = Site::new(kvweb::site_root(backend));
    StringTransport::from_factory(&mut site)
}

/// The site over a fresh store in this process (keys live 15 s).
fn in_process() -> (StringTransport, KvStore) {
    in_process_with(StoreConfig::default())
}

fn in_process_with(config: StoreConfig) -> (StringTransport, KvStore) {
    let store = KvStore::new(config);
    let t = connect_to(Rc::new(InProcess::new(store.clone())));
    (t, store)
}

fn raw(t: &mut StringTransport, method: &str, target: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: kv.test\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    t.receive(&request);
    t.take()
}

fn ask(t: &mut StringTransport, method: &str, target: &str, body: &[u8]) -> Reply {
    let wire = raw(t, method, target, "", body);
    replies(&wire, &[method]).remove(0)
}

fn get(t: &mut StringTransport, target: &str) -> Reply {
    ask(t, "GET", target, b"")
}

/// POSTs a form, as a browser sends it.
fn post_form(t: &mut StringTransport, target: &str, form: &str) -> Reply {
    let wire = raw(
        t,
        "POST",
        target,
        "Content-Type: application/x-www-form-urlencoded\r\n",
        form.as_bytes(),
    );
    replies(&wire, &["POST"]).remove(0)
}

/// The response with its Date header blanked, to compare byte by byte.
fn without_date(wire: &[u8]) -> String {
    let text = String::from_utf8(wire.to_vec()).expect("UTF-8");
    text.lines()
        .map(|line| {
            if line.starts_with("Date: ") {
                "Date: *"
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n{body}\n<p><a id=\"back\" href=\"/\">Back to the forms</a></p>\n</body></html>\n"
    )
}

fn assert_page_headers(reply: &Reply) {
    assert_eq!(
        reply.headers.get("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(reply.headers.get("content-security-policy"), Some(PAGE_POLICY));
    assert_eq!(reply.headers.get("cache-control"), Some("no-store"));
    assert_eq!(reply.headers.get("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        reply.headers.get("content-length"),
        Some(reply.body.len().to_string().as_str())
    );
}

fn assert_json(reply: &Reply, status: u16, body: &str) {
    assert_eq!((reply.status, reply.text().as_str()), (status, body));
    assert_eq!(reply.headers.get("content-type"), Some("application/json"));
    assert_eq!(reply.headers.get("cache-control"), Some("no-store"));
}

// ----- the pages ----------------------------------------------------------------

#[test]
fn the_index_has_the_three_forms_get_by_get_and_mutations_by_post() {
    let (mut t, _store) = in_process();
    let r = get(&mut t, "/");
    assert_eq!(r.status, 200);
    assert_page_headers(&r);
    let html = r.text();
    assert!(html.starts_with("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Torsion key-value store</title></head>"), "{html}");
    assert!(
        html.contains("<p id=\"status\" class=\"connected\">Connected to the store in this process.</p>"),
        "{html}"
    );
    for form in [
        r#"<form id="get" method="get" action="/get">"#,
        r#"<form id="set" method="post" action="/set">"#,
        r#"<form id="delete" method="post" action="/delete">"#,
        r#"<input type="text" name="key" id="get-key" required>"#,
        r#"<input type="text" name="key" id="set-key" required>"#,
        r#"<input type="text" name="value" id="set-value">"#,
        r#"<input type="text" name="key" id="delete-key" required>"#,
        r#"<button type="submit" id="set-submit">Set</button>"#,
    ] {
        assert!(html.contains(form), "no {form} in {html}");
    }
    assert_eq!(html.matches("<form ").count(), 3);
    assert!(!html.contains("<script"), "{html}");
}

#[test]
fn set_get_delete_through_the_forms_byte_by_byte() {
    let (mut t, store) = in_process();
    let wire = raw(
        &mut t,
        "POST",
        "/set",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        b"key=greeting&value=hello+world",
    );
    let stored = page(
        "Stored",
        "<p id=\"message\">Stored <code id=\"key\">greeting</code>:</p>\n<pre id=\"value\">hello world</pre>\n<p><a href=\"/get?key=greeting\">Read it back</a></p>",
    );
    assert_eq!(
        without_date(&wire),
        without_date(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Security-Policy: {PAGE_POLICY}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nContent-Length: {}\r\nDate: *\r\nServer: Torsion\r\n\r\n{stored}",
                stored.len()
            )
            .as_bytes()
        )
    );
    assert_eq!(store.get(b"greeting").as_deref(), Some(&b"hello world"[..]));

    let r = get(&mut t, "/get?key=greeting");
    assert_eq!(r.status, 200);
    assert_page_headers(&r);
    assert_eq!(
        r.text(),
        page(
            "Value of greeting",
            "<p>The value of <code id=\"key\">greeting</code>:</p>\n<pre id=\"value\">hello world</pre>"
        )
    );

    let r = post_form(&mut t, "/delete", "key=greeting");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        page(
            "Deleted",
            "<p id=\"message\">Deleted <code id=\"key\">greeting</code>.</p>"
        )
    );
    assert!(store.is_empty());

    for r in [
        get(&mut t, "/get?key=greeting"),
        post_form(&mut t, "/delete", "key=greeting"),
    ] {
        assert_eq!(r.status, 404);
        assert_page_headers(&r);
        assert_eq!(
            r.text(),
            page(
                "Not found",
                "<p id=\"error\">No key &quot;greeting&quot; in the store: it was never set, was deleted, or expired (torsion-kv forgets a key its --ttl after the last set).</p>"
            )
        );
    }
    // The connection stayed open throughout (keep-alive).
    assert!(!t.disconnecting());
}

#[test]
fn keys_and_values_are_escaped_on_every_page() {
    let (mut t, store) = in_process();
    let value = r#"<script>alert("x")</script> & 'quotes'"#;
    let key = "<k>";
    let form = format!(
        "key={}&value={}",
        torsion_protocols::http::percent_encode(key),
        torsion_protocols::http::percent_encode(value)
    );
    let escaped_value = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;quotes&#x27;";
    let r = post_form(&mut t, "/set", &form);
    assert_eq!(r.status, 200);
    assert!(
        r.text()
            .contains(&format!("<pre id=\"value\">{escaped_value}</pre>")),
        "{}",
        r.text()
    );
    assert!(r.text().contains("<title>Stored</title>"));
    assert!(r.text().contains("<code id=\"key\">&lt;k&gt;</code>"));
    assert!(r.text().contains("<a href=\"/get?key=%3Ck%3E\">"));
    assert_eq!(store.get(key.as_bytes()).as_deref(), Some(value.as_bytes()));

    let r = get(&mut t, "/get?key=%3Ck%3E");
    let html = r.text();
    assert!(html.contains("<title>Value of &lt;k&gt;</title>"), "{html}");
    assert!(
        html.contains(&format!("<pre id=\"value\">{escaped_value}</pre>")),
        "{html}"
    );
    for r in [
        &html,
        &post_form(&mut t, "/delete", "key=%3Ck%3E").text(),
        &get(&mut t, "/get?key=%3Ck%3E").text(),
    ] {
        assert!(!r.contains("<script"), "{r}");
        assert!(!r.contains("<k>"), "{r}");
    }
    // Bytes that are not UTF-8 (set by another client) show as U+FFFD.
    store.set(t.reactor(), b"bin", b"a\xffb").unwrap();
    assert!(get(&mut t, "/get?key=bin")
        .text()
        .contains("<pre id=\"value\">a\u{fffd}b</pre>"));
}

#[test]
fn missing_fields_are_400_pages_and_nothing_is_stored() {
    let (mut t, store) = in_process();
    for r in [
        get(&mut t, "/get"),
        get(&mut t, "/get?key="),
        post_form(&mut t, "/set", "value=v"),
        post_form(&mut t, "/set", "key=&value=v"),
        post_form(&mut t, "/delete", ""),
    ] {
        assert_eq!(r.status, 400);
        assert_page_headers(&r);
        assert_eq!(
            r.text(),
            page(
                "Bad request",
                "<p id=\"error\">Give a key: the Key field was empty.</p>"
            )
        );
    }
    let r = post_form(&mut t, "/set", "key=k");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("Give a value"), "{}", r.text());
    // Mutations read the body, never the query string.
    let r = ask(&mut t, "POST", "/set?key=k&value=v", b"");
    assert_eq!(r.status, 400);
    assert!(store.is_empty());
    // An empty value is a value.
    assert_eq!(post_form(&mut t, "/set", "key=k&value=").status, 200);
    assert_eq!(store.get(b"k").as_deref(), Some(&b""[..]));
}

#[test]
fn mutations_by_get_are_405_and_get_is_get_only() {
    let (mut t, store) = in_process();
    for target in ["/set?key=k&value=v", "/delete?key=k"] {
        let r = get(&mut t, target);
        assert_eq!(r.status, 405);
        assert_eq!(r.headers.get("allow"), Some("POST"));
    }
    assert!(store.is_empty());
    let r = post_form(&mut t, "/get", "key=k");
    assert_eq!(r.status, 405);
    assert_eq!(r.headers.get("allow"), Some("GET, HEAD"));
    assert_eq!(get(&mut t, "/nothing-here").status, 404);
    // HEAD: the length GET would send, no body.
    store.set(t.reactor(), b"k", b"v").unwrap();
    let r = ask(&mut t, "HEAD", "/get?key=k", b"");
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    let full = get(&mut t, "/get?key=k");
    assert_eq!(
        r.headers.get("content-length"),
        Some(full.body.len().to_string().as_str())
    );
}

#[test]
fn what_the_store_refuses_is_a_400_with_its_reason() {
    let (mut t, store) = in_process_with(StoreConfig {
        limits: Limits {
            max_key_length: 4,
            max_value_length: 8,
        },
        ..StoreConfig::default()
    });
    let r = post_form(&mut t, "/set", "key=toolong&value=v");
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .contains("<p id=\"error\">The store refused it: key longer than 4 bytes.</p>"),
        "{}",
        r.text()
    );
    let r = post_form(&mut t, "/set", "key=k&value=123456789");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("value longer than 8 bytes"), "{}", r.text());
    let r = ask(&mut t, "PUT", "/api/keys/k", b"123456789");
    assert_json(
        &r,
        400,
        "{\"error\":\"The store refused it: value longer than 8 bytes.\",\"key\":\"k\"}\n",
    );
    assert!(store.is_empty());
}

#[test]
fn keys_expire_and_the_page_then_says_not_found() {
    let (mut t, _store) = in_process();
    assert_eq!(post_form(&mut t, "/set", "key=k&value=v").status, 200);
    t.advance(Duration::from_secs(14));
    assert_eq!(get(&mut t, "/get?key=k").status, 200);
    t.advance(Duration::from_secs(1));
    assert_eq!(get(&mut t, "/get?key=k").status, 404);
}

// ----- the JSON API ---------------------------------------------------------------

#[test]
fn the_api_gets_puts_and_deletes_with_the_right_statuses() {
    let (mut t, store) = in_process();
    let wire = raw(&mut t, "PUT", "/api/keys/greeting", "", b"hello \"world\"\n");
    assert_eq!(
        without_date(&wire),
        without_date(b"HTTP/1.1 201 Created\r\nLocation: /api/keys/greeting\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nContent-Length: 47\r\nDate: *\r\nServer: Torsion\r\n\r\n{\"key\":\"greeting\",\"value\":\"hello \\\"world\\\"\\n\"}\n")
    );
    assert_eq!(store.get(b"greeting").as_deref(), Some(&b"hello \"world\"\n"[..]));
    let r = ask(&mut t, "PUT", "/api/keys/greeting", b"again");
    assert_json(&r, 200, "{\"key\":\"greeting\",\"value\":\"again\"}\n");
    assert_eq!(r.headers.get("location"), None);
    let r = get(&mut t, "/api/keys/greeting");
    assert_json(&r, 200, "{\"key\":\"greeting\",\"value\":\"again\"}\n");
    let r = ask(&mut t, "HEAD", "/api/keys/greeting", b"");
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert_eq!(r.headers.get("content-length"), Some("35"));

    let wire = raw(&mut t, "DELETE", "/api/keys/greeting", "", b"");
    assert_eq!(
        without_date(&wire),
        without_date(b"HTTP/1.1 204 No Content\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nDate: *\r\nServer: Torsion\r\n\r\n")
    );
    let not_found = "{\"error\":\"No key \\\"greeting\\\" in the store: it was never set, was deleted, or expired (torsion-kv forgets a key its --ttl after the last set).\",\"key\":\"greeting\"}\n";
    assert_json(&ask(&mut t, "DELETE", "/api/keys/greeting", b""), 404, not_found);
    assert_json(&get(&mut t, "/api/keys/greeting"), 404, not_found);
    assert!(!t.disconnecting());
}

#[test]
fn api_keys_come_from_the_path_percent_decoded_and_values_are_json_escaped() {
    let (mut t, store) = in_process();
    assert_eq!(ask(&mut t, "PUT", "/api/keys/a%20b", b"1").status, 201);
    assert_eq!(store.get(b"a b").as_deref(), Some(&b"1"[..]));
    assert_eq!(ask(&mut t, "PUT", "/api/keys/dir/file", b"2").status, 201);
    assert_eq!(store.get(b"dir/file").as_deref(), Some(&b"2"[..]));
    let r = ask(&mut t, "PUT", "/api/keys/%3Cx%3E", b"</script><b>&\t\x01");
    assert_eq!(r.headers.get("location"), Some("/api/keys/%3Cx%3E"));
    assert_json(
        &r,
        201,
        "{\"key\":\"\\u003cx\\u003e\",\"value\":\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\\t\\u0001\"}\n",
    );
    assert_json(
        &get(&mut t, "/api/keys/a%20b"),
        200,
        "{\"key\":\"a b\",\"value\":\"1\"}\n",
    );
}

#[test]
fn api_bad_input_is_400_unknown_paths_404_other_methods_405_all_in_json() {
    let (mut t, store) = in_process();
    assert_json(
        &ask(&mut t, "PUT", "/api/keys/k", b"\xff\xfe"),
        400,
        "{\"error\":\"The value (the request's body) must be UTF-8 text.\",\"key\":\"k\"}\n",
    );
    assert_json(
        &get(&mut t, "/api/keys/"),
        400,
        "{\"error\":\"Give a key: /api/keys/\\u003ckey\\u003e.\"}\n",
    );
    // `/api/keys//` names the key "/" (segments joined by slashes).
    assert_eq!(ask(&mut t, "PUT", "/api/keys//", b"slash").status, 201);
    assert_eq!(store.get(b"/").as_deref(), Some(&b"slash"[..]));
    store.delete(t.reactor(), b"/");
    for target in ["/api", "/api/", "/api/keys", "/api/other/k"] {
        assert_json(
            &get(&mut t, target),
            404,
            "{\"error\":\"No such resource: the API is /api/keys/\\u003ckey\\u003e.\"}\n",
        );
    }
    for method in ["POST", "PATCH", "OPTIONS"] {
        let r = ask(&mut t, method, "/api/keys/k", b"v");
        assert_json(
            &r,
            405,
            &format!(
                "{{\"error\":\"{method} is not allowed here: use GET, PUT or DELETE.\",\"key\":\"k\"}}\n"
            ),
        );
        assert_eq!(r.headers.get("allow"), Some("GET, HEAD, PUT, DELETE"));
    }
    assert!(store.is_empty());
}

// ----- a scripted backend: answers later, failures --------------------------------

/// A call the test answers.
enum Held {
    Get(Vec<u8>, Deferred<Vec<u8>>),
    Set(Vec<u8>, Vec<u8>, Deferred<()>),
    Delete(Vec<u8>, Deferred<()>),
}

/// Keeps every call for the test to answer.
#[derive(Clone)]
struct Scripted {
    calls: Rc<RefCell<Vec<Held>>>,
    health: Rc<Cell<Health>>,
}

impl Scripted {
    fn new() -> Self {
        Scripted {
            calls: Rc::default(),
            health: Rc::new(Cell::new(Health::Connected)),
        }
    }

    fn take(&self) -> Vec<Held> {
        std::mem::take(&mut self.calls.borrow_mut())
    }

    /// Fails every call made so far (each about `key`) with `failure`.
    fn fail_all(&self, reactor: &mut Reactor, key: &[u8], failure: impl Fn() -> Failure) {
        for call in self.take() {
            let _ = match call {
                Held::Get(k, d) if k == key => d.errback(reactor, failure()),
                Held::Set(k, _, d) | Held::Delete(k, d) if k == key => d.errback(reactor, failure()),
                _ => panic!("a call about another key"),
            };
        }
    }
}

impl KeyValue for Scripted {
    fn get(&self, _reactor: &mut Reactor, key: &[u8]) -> Deferred<Vec<u8>> {
        let d = Deferred::new();
        self.calls.borrow_mut().push(Held::Get(key.to_vec(), d.clone()));
        d
    }

    fn set(&self, _reactor: &mut Reactor, key: &[u8], value: &[u8]) -> Deferred<()> {
        let d = Deferred::new();
        self.calls
            .borrow_mut()
            .push(Held::Set(key.to_vec(), value.to_vec(), d.clone()));
        d
    }

    fn delete(&self, _reactor: &mut Reactor, key: &[u8]) -> Deferred<()> {
        let d = Deferred::new();
        self.calls
            .borrow_mut()
            .push(Held::Delete(key.to_vec(), d.clone()));
        d
    }
}

impl Backend for Scripted {
    fn name(&self) -> String {
        "torsion-kv at 127.0.0.1:1 <test>".into()
    }

    fn health(&self) -> Health {
        self.health.get()
    }
}

fn scripted() -> (StringTransport, Scripted) {
    let backend = Scripted::new();
    let t = connect_to(Rc::new(backend.clone()));
    (t, backend)
}

/// Sends requests without reading their answers yet.
fn send_get(t: &mut StringTransport, target: &str) {
    t.receive(format!("GET {target} HTTP/1.1\r\nHost: kv.test\r\n\r\n").as_bytes());
}

#[test]
fn pages_answer_when_the_store_does_and_pipelined_requests_stay_in_order() {
    let (mut t, backend) = scripted();
    send_get(&mut t, "/get?key=a");
    send_get(&mut t, "/api/keys/b");
    assert!(t.value().is_empty(), "nothing before the store answers");
    let mut calls = backend.take();
    assert_eq!(calls.len(), 1, "the second request waits for the first answer");
    let Some(Held::Get(key, d)) = calls.pop() else {
        panic!("a get")
    };
    assert_eq!(key, b"a");
    d.callback(t.reactor(), b"A".to_vec()).unwrap();
    t.pump();
    let Some(Held::Get(key, d)) = backend.take().pop() else {
        panic!("a get")
    };
    assert_eq!(key, b"b");
    d.callback(t.reactor(), b"B".to_vec()).unwrap();
    t.pump();
    let rs = replies(&t.take(), &["GET", "GET"]);
    assert!(rs[0].text().contains("<pre id=\"value\">A</pre>"));
    assert_json(&rs[1], 200, "{\"key\":\"b\",\"value\":\"B\"}\n");
}

#[test]
fn a_put_tells_created_from_replaced_by_a_get_sent_just_before_the_set() {
    let (mut t, backend) = scripted();
    for (found, status) in [(false, 201), (true, 200)] {
        t.receive(b"PUT /api/keys/k HTTP/1.1\r\nHost: kv.test\r\nContent-Length: 1\r\n\r\nv");
        let mut calls = backend.take().into_iter();
        let (Some(Held::Get(_, get)), Some(Held::Set(key, value, set)), None) =
            (calls.next(), calls.next(), calls.next())
        else {
            panic!("a get, then a set")
        };
        assert_eq!((key.as_slice(), value.as_slice()), (&b"k"[..], &b"v"[..]));
        if found {
            get.callback(t.reactor(), b"old".to_vec()).unwrap();
        } else {
            get.errback(t.reactor(), KeyNotFound { key: key.clone() })
                .unwrap();
        }
        set.callback(t.reactor(), ()).unwrap();
        t.pump();
        let r = replies(&t.take(), &["PUT"]).remove(0);
        assert_json(&r, status, "{\"key\":\"k\",\"value\":\"v\"}\n");
    }
}

#[test]
fn the_stores_failures_become_pages_and_json_with_their_status() {
    let (mut t, backend) = scripted();
    type MakeFailure = Box<dyn Fn() -> Failure>;
    let cases: Vec<(MakeFailure, u16, &str)> = vec![
        (
            Box::new(|| {
                Unavailable {
                    store: "torsion-kv at 127.0.0.1:1 <test>".into(),
                    reason: Some("connection refused".into()),
                }
                .into()
            }),
            503,
            "torsion-kv at 127.0.0.1:1 &lt;test&gt; is unreachable (connection refused); kvweb reconnects as soon as it is back.",
        ),
        (
            Box::new(|| TimedOut { after: Duration::from_secs(5) }.into()),
            504,
            "The store did not answer within 5 s; try again.",
        ),
        (
            Box::new(|| KvError::ConnectionLost(CloseReason::Lost).into()),
            503,
            "The store cannot be reached just now: the connection closed: connection lost; try again.",
        ),
        (
            Box::new(|| KvError::Protocol("a VALUE for a set".into()).into()),
            502,
            "The store failed: the server broke the protocol: a VALUE for a set.",
        ),
        (
            Box::new(|| KvError::InvalidKey("holds whitespace".into()).into()),
            400,
            "The store cannot take that key: holds whitespace.",
        ),
        (
            Box::new(|| KvError::Server("unknown command".into()).into()),
            400,
            "The store refused it: unknown command.",
        ),
    ];
    for (failure, status, message) in cases {
        send_get(&mut t, "/get?key=k");
        backend.fail_all(t.reactor(), b"k", &failure);
        t.pump();
        t.receive(b"POST /set HTTP/1.1\r\nHost: kv.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\nkey=k&value");
        backend.fail_all(t.reactor(), b"k", &failure);
        t.pump();
        t.receive(b"DELETE /api/keys/k HTTP/1.1\r\nHost: kv.test\r\n\r\n");
        backend.fail_all(t.reactor(), b"k", &failure);
        t.pump();
        let rs = replies(&t.take(), &["GET", "POST", "DELETE"]);
        for r in &rs[..2] {
            assert_eq!(r.status, status, "{message}");
            assert_page_headers(r);
            assert!(
                r.text().contains(&format!("<p id=\"error\">{message}</p>")),
                "{}",
                r.text()
            );
        }
        assert_eq!(rs[2].status, status);
        let json = rs[2].text();
        let unescaped = message.replace("&lt;", "\\u003c").replace("&gt;", "\\u003e");
        assert_eq!(json, format!("{{\"error\":\"{unescaped}\",\"key\":\"k\"}}\n"));
    }
}

#[test]
fn the_index_says_when_the_store_is_unreachable() {
    let (mut t, backend) = scripted();
    backend.health.set(Health::Unreachable);
    let r = get(&mut t, "/");
    assert_eq!(r.status, 200, "the forms still show");
    assert!(r.text().contains("<p id=\"status\" class=\"unreachable\"><strong>torsion-kv at 127.0.0.1:1 &lt;test&gt; is unreachable</strong>"), "{}", r.text());
    backend.health.set(Health::Connecting);
    assert!(get(&mut t, "/")
        .text()
        .contains("class=\"connecting\">Connecting to torsion-kv at 127.0.0.1:1 &lt;test&gt;&hellip;</p>"));
}

#[test]
fn a_client_that_leaves_before_the_store_answers_gets_nothing_and_nothing_breaks() {
    let (mut t, backend) = scripted();
    send_get(&mut t, "/get?key=k");
    t.receive_eof();
    let Some(Held::Get(_, d)) = backend.take().pop() else {
        panic!("a get")
    };
    d.callback(t.reactor(), b"late".to_vec()).unwrap();
    t.pump();
    assert!(t.value().is_empty(), "{:?}", t.text());
    assert!(t.disconnecting() || t.disconnected());
}
