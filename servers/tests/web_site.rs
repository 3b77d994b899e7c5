//! The web server byte by byte, without sockets: routing, methods,
//! arguments, keep-alive, pipelining, the access log.

#[path = "web/util.rs"]
mod util;

use util::{connect, replies, reply};

#[test]
fn get_root_answers_with_a_length_and_keeps_the_connection() {
    let (mut t, site) = connect();
    t.receive(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = reply(&t.take());
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    assert_eq!(r.headers.get("content-length"), Some("5"));
    assert!(r.headers.get("date").is_some_and(|d| d.ends_with(" GMT")));
    assert_eq!(r.headers.get("connection"), None);
    assert!(!t.disconnecting());
    assert_eq!(site.log.borrow().len(), 1);
}

#[test]
fn a_request_sent_byte_by_byte_is_answered_once() {
    let (mut t, _site) = connect();
    t.receive_bytewise(b"GET /echo?a=1 HTTP/1.1\r\nHost: x\r\nX-Test: yes\r\n\r\n");
    let r = reply(&t.take());
    assert_eq!(r.text(), "GET /echo\nquery a=1\nbody 0\nx-test yes\n");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (mut t, site) = connect();
    t.receive(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /echo?n=2 HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    let rs = replies(&t.take(), &["GET", "GET", "HEAD", "GET"]);
    assert_eq!(
        rs.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 200, 200, 404]
    );
    assert_eq!(rs[1].text(), "GET /echo\nquery n=2\nbody 0\n");
    // HEAD: the length of the body GET would send, and no body.
    assert_eq!(rs[2].headers.get("content-length"), Some("5"));
    assert!(rs[2].body.is_empty());
    assert_eq!(site.log.borrow().len(), 4);
}

#[test]
fn tree_traversal_children_pages_and_leaves() {
    let (mut t, _site) = connect();
    let ask = |t: &mut torsion::testing::StringTransport, path: &str| {
        t.receive(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        reply(&t.take())
    };
    assert_eq!(ask(&mut t, "/dir").text(), "hello");
    assert_eq!(ask(&mut t, "/dir/inner").text(), "hello");
    assert_eq!(ask(&mut t, "/dir/missing").status, 404);
    assert_eq!(ask(&mut t, "/echo/deeper").status, 404);
    assert_eq!(ask(&mut t, "/leaf/a/b%20c").text(), r#"postpath ["a", "b c"]"#);
    assert_eq!(ask(&mut t, "/leaf").text(), "postpath []");
    assert_eq!(ask(&mut t, "http://example.com/echo?q=1").status, 200);
}

#[test]
fn not_found_pages_escape_the_path() {
    let (mut t, _site) = connect();
    t.receive(b"GET /%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = reply(&t.take());
    assert_eq!(r.status, 404);
    let text = r.text();
    assert!(!text.contains("<script>"), "{text}");
    assert!(
        text.contains("&lt;script&gt;") || text.contains("%3Cscript%3E"),
        "{text}"
    );
}

#[test]
fn an_unanswered_method_is_405_with_allow() {
    let (mut t, _site) = connect();
    t.receive(
        b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\nPUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    );
    let rs = replies(&t.take(), &["DELETE", "PUT"]);
    assert_eq!(
        (rs[0].status, rs[0].headers.get("allow")),
        (405, Some("GET, HEAD"))
    );
    assert_eq!(
        (rs[1].status, rs[1].headers.get("allow")),
        (405, Some("GET, HEAD, POST"))
    );
    assert!(!t.disconnecting(), "a 405 keeps the connection");
}

#[test]
fn form_posts_are_decoded() {
    let (mut t, _site) = connect();
    let body = "name=J%C3%BCrgen+M&x=%3Cb%3E&empty";
    t.receive(
        format!(
            "POST /echo?q=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let r = reply(&t.take());
    assert_eq!(
        r.text(),
        format!(
            "POST /echo\nquery q=1\nform name=Jürgen M\nform x=<b>\nform empty=\nbody {}\n",
            body.len()
        )
    );
}

#[test]
fn chunked_request_bodies_are_read() {
    let (mut t, _site) = connect();
    t.receive_bytewise(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n3\r\na=1\r\n4;ext=y\r\n&b=2\r\n0\r\nTrailer: z\r\n\r\n");
    let r = reply(&t.take());
    assert_eq!(r.text(), "POST /echo\nform a=1\nform b=2\nbody 7\n");
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let (mut t, _site) = connect();
    t.receive(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(t.take(), b"HTTP/1.1 100 Continue\r\n\r\n");
    t.receive(b"abc");
    assert_eq!(reply(&t.take()).text(), "POST /echo\nbody 3\n");
}

#[test]
fn connection_close_and_http_1_0_close_after_the_response() {
    let (mut t, _site) = connect();
    t.receive(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let r = reply(&t.take());
    assert_eq!(r.headers.get("connection"), Some("close"));
    assert!(t.disconnected());

    let (mut t, _site) = connect();
    t.receive(b"GET / HTTP/1.0\r\n\r\n");
    assert!(t.text().starts_with("HTTP/1.0 200 OK\r\n"));
    assert!(t.disconnected());

    let (mut t, _site) = connect();
    t.receive(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(reply(&t.take()).headers.get("connection"), Some("keep-alive"));
    assert!(!t.disconnecting());
}

#[test]
fn redirects_carry_a_location() {
    let (mut t, _site) = connect();
    t.receive(b"GET /moved HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = reply(&t.take());
    assert_eq!((r.status, r.headers.get("location")), (301, Some("/echo")));
}

#[test]
fn the_access_log_is_in_common_log_format() {
    let (mut t, site) = connect();
    t.receive(b"GET /echo?a=\"1\" HTTP/1.1\r\nHost: x\r\n\r\n");
    let log = site.log.borrow();
    let line = &log[0];
    // host ident user [date] "request" status bytes
    let re_ok = line.starts_with("- - - [")
        && line.contains("+0000] \"GET /echo?a=\\\"1\\\" HTTP/1.1\" 200 ")
        && line.rsplit(' ').next().is_some_and(|b| b.parse::<u64>().is_ok());
    assert!(re_ok, "{line}");
}
