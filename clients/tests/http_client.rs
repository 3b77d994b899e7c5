//! The HTTP client over real sockets on 127.0.0.1: against a Torsion site
//! on the same reactor, and against scripted servers for what a site
//! would never send.

mod http_util;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_util::{fetch_error, scripted, wait, Script};
use torsion::Reactor;
use torsion_clients::http::{get_page, get_page_streaming, BodySink, FetchError, HttpClient, Response};
use torsion_protocols::http::Headers;
use torsion_servers::web::demo::Long;
use torsion_servers::web::{Node, Redirect, Render, Request, Resource, Site};

struct Text(&'static str);

impl Resource for Text {
    fn render_get(&self, _r: &mut Reactor, request: &Request) -> Render {
        request.set_header("Content-Type", "text/plain");
        self.0.into()
    }
}

/// Shows the method and body it got.
struct Method;

impl Resource for Method {
    fn allowed_methods(&self) -> &[&'static str] {
        &["GET", "HEAD", "POST", "PUT"]
    }

    fn render(&self, _r: &mut Reactor, request: &Request) -> Render {
        format!("{} {}", request.method(), String::from_utf8_lossy(request.body())).into()
    }
}

/// A site on `reactor`; returns its base URL.
fn site(reactor: &mut Reactor) -> String {
    let mut root = Node::new();
    root.put_child("", Text("hello"))
        .put_child("big", Text(include_str!("http_client.rs")))
        .put_child("long", Long::new(Duration::from_millis(50)))
        .put_child("method", Method)
        .put_child("r1", Redirect::with_status(301, "r2"))
        .put_child("r2", Redirect::with_status(302, "/r3?x=1"))
        .put_child("r3", Redirect::with_status(307, "/method"))
        .put_child("see-other", Redirect::with_status(303, "/method"))
        .put_child("found", Redirect::with_status(302, "/method"))
        .put_child("keep", Redirect::with_status(308, "/method"))
        .put_child("loop", Redirect::new("/loop"));
    let id = reactor
        .listen_tcp("127.0.0.1:0".parse().unwrap(), Site::new(root))
        .unwrap();
    format!("http://{}", reactor.local_addr(id).unwrap())
}

fn client() -> HttpClient {
    HttpClient::new().timeout(Some(Duration::from_secs(10)))
}

#[test]
fn get_page_fetches_a_page() {
    let mut r = Reactor::new().unwrap();
    let base = site(&mut r);
    let d = get_page(&mut r, &format!("{base}/"));
    let page = wait(&mut r, d).unwrap();
    assert_eq!((page.status, page.text().as_str()), (200, "hello"));
    assert_eq!(page.header("content-type"), Some("text/plain"));
    assert_eq!(page.url.to_string(), format!("{base}/"));
    let d = client().get(&mut r, &format!("{base}/big"));
    assert_eq!(wait(&mut r, d).unwrap().text(), include_str!("http_client.rs"));
}

#[test]
fn the_request_has_host_user_agent_and_close() {
    let server = scripted(vec![Script::Reply(
        vec![b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()],
        Duration::ZERO,
    )]);
    let mut r = Reactor::new().unwrap();
    let d = client()
        .keep_alive(false)
        .user_agent("test-agent/1")
        .get(&mut r, &format!("http://{}/a b?q=1#frag", server.addr));
    assert_eq!(wait(&mut r, d).unwrap().status, 204);
    let head = server.requests.recv().unwrap();
    assert!(head.starts_with("GET /a%20b?q=1 HTTP/1.1\r\n"), "{head}");
    assert!(head.contains(&format!("\r\nHost: {}\r\n", server.addr)), "{head}");
    assert!(head.contains("\r\nUser-Agent: test-agent/1\r\n"), "{head}");
    assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
}

#[test]
fn the_streaming_variant_hands_over_pieces_as_they_arrive() {
    let mut r = Reactor::new().unwrap();
    let base = site(&mut r);
    let pieces = Rc::new(RefCell::new(Vec::new()));
    let sink = pieces.clone();
    let started = Instant::now();
    let d = get_page_streaming(
        &mut r,
        &format!("{base}/long"),
        move |_: &mut Reactor, chunk: &[u8]| {
            sink.borrow_mut()
                .push((String::from_utf8_lossy(chunk).into_owned(), started.elapsed()));
        },
    );
    let response = wait(&mut r, d).unwrap();
    assert_eq!(response.status, 200);
    assert!(response.body.is_empty());
    let pieces = pieces.borrow();
    let text: Vec<&str> = pieces.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(text, ["A", "B", "C"]);
    assert!(
        pieces[2].1 >= pieces[0].1 + Duration::from_millis(90),
        "{pieces:?}"
    );
}

/// A large body, served whole.
struct Big(Bytes);

impl Resource for Big {
    fn render_get(&self, _r: &mut Reactor, _request: &Request) -> Render {
        Render::Body(self.0.clone())
    }
}

/// Counts what it is handed; pauses its source at the first piece.
#[derive(Default)]
struct Pausing {
    source: Option<torsion_clients::http::BodySource>,
    received: usize,
}

type SharedPausing = Rc<RefCell<Pausing>>;

struct PausingSink(SharedPausing);

impl BodySink for PausingSink {
    fn source(&mut self, _r: &mut Reactor, source: torsion_clients::http::BodySource) {
        self.0.borrow_mut().source = Some(source);
    }

    fn data(&mut self, r: &mut Reactor, chunk: &[u8]) {
        let mut state = self.0.borrow_mut();
        if state.received == 0 {
            if let Some(source) = state.source {
                source.pause(r);
            }
        }
        state.received += chunk.len();
    }
}

#[test]
fn a_streaming_sink_paces_its_source() {
    const SIZE: usize = 32 << 20;
    let mut r = Reactor::new().unwrap();
    let mut root = Node::new();
    root.put_child("big", Big(Bytes::from(vec![b'x'; SIZE])));
    let id = r
        .listen_tcp("127.0.0.1:0".parse().unwrap(), Site::new(root))
        .unwrap();
    let url = format!("http://{}/big", r.local_addr(id).unwrap());
    let state = SharedPausing::default();
    let d = client()
        .max_body(SIZE as u64)
        .get_streaming(&mut r, &url, PausingSink(state.clone()));
    // Paused at the first piece: what arrives after it is at most what was
    // read already, and nothing more comes while it stays paused.
    let deadline = Instant::now() + Duration::from_secs(10);
    while state.borrow().received == 0 {
        assert!(Instant::now() < deadline, "no body");
        r.iterate(Some(Duration::from_millis(10))).unwrap();
    }
    let settle = Instant::now() + Duration::from_millis(100);
    while Instant::now() < settle {
        r.iterate(Some(Duration::from_millis(10))).unwrap();
    }
    let paused_at = state.borrow().received;
    let still = Instant::now() + Duration::from_millis(300);
    while Instant::now() < still {
        r.iterate(Some(Duration::from_millis(10))).unwrap();
    }
    assert_eq!(state.borrow().received, paused_at, "data arrived while paused");
    assert!(
        paused_at < SIZE / 4,
        "{paused_at} bytes arrived before the pause held"
    );
    let source = state.borrow().source.expect("a source");
    source.resume(&mut r);
    let response = wait(&mut r, d).unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(state.borrow().received, SIZE);
}

#[test]
fn bodies_framed_by_chunks_length_or_close() {
    let chunked: Vec<Vec<u8>> = vec![
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext".to_vec(),
        b"\r\nhello\r\n".to_vec(),
        b"6\r\n world\r\n0\r\n\r\n".to_vec(),
    ];
    let server = scripted(vec![
        Script::Reply(chunked, Duration::from_millis(20)),
        Script::Reply(vec![b"HTTP/1.0 200 OK\r\n\r\nuntil the ".to_vec(), b"close".to_vec()], Duration::from_millis(20)),
        Script::Reply(
            vec![b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: keep-alive\r\n\r\nfour".to_vec()],
            // Held open long after the body: a client waiting for the
            // close would take this long, far past the bound below.
            Duration::from_secs(60),
        ),
    ]);
    let mut r = Reactor::new().unwrap();
    for expected in ["hello world", "until the close", "four"] {
        let d = client().get(&mut r, &format!("http://{}/", server.addr));
        let started = Instant::now();
        assert_eq!(wait(&mut r, d).unwrap().text(), expected);
        // A length-framed body ends at its length, not when the server
        // closes (a minute later): the bound leaves a loaded machine room.
        assert!(started.elapsed() < Duration::from_secs(20));
    }
}

#[test]
fn redirects_are_followed_relative_and_absolute() {
    let mut r = Reactor::new().unwrap();
    let base = site(&mut r);
    let d = client().get(&mut r, &format!("{base}/r1"));
    let page = wait(&mut r, d).unwrap();
    assert_eq!((page.status, page.text().as_str()), (200, "GET "));
    assert_eq!(page.url.to_string(), format!("{base}/method"));
    let d = client()
        .follow_redirects(false)
        .get(&mut r, &format!("{base}/r1"));
    let page = wait(&mut r, d).unwrap();
    assert_eq!((page.status, page.header("location")), (301, Some("r2")));
}

#[test]
fn redirects_after_a_post_keep_or_drop_the_method_as_browsers_do() {
    let mut r = Reactor::new().unwrap();
    let base = site(&mut r);
    let post = |r: &mut Reactor, path: &str| {
        let d = client().request(
            r,
            "POST",
            &format!("{base}{path}"),
            &Headers::new(),
            Bytes::from_static(b"data"),
        );
        wait(r, d).unwrap().text()
    };
    assert_eq!(post(&mut r, "/see-other"), "GET ");
    assert_eq!(post(&mut r, "/found"), "GET ");
    assert_eq!(post(&mut r, "/keep"), "POST data");
}

#[test]
fn too_many_redirects_is_an_error() {
    let mut r = Reactor::new().unwrap();
    let base = site(&mut r);
    let d = client().get(&mut r, &format!("{base}/loop"));
    assert!(matches!(
        fetch_error(wait(&mut r, d)),
        FetchError::TooManyRedirects { limit: 10, .. }
    ));
    let d = client().max_redirects(1).get(&mut r, &format!("{base}/r1"));
    assert!(matches!(
        fetch_error(wait(&mut r, d)),
        FetchError::TooManyRedirects { limit: 1, .. }
    ));
}

#[test]
fn bad_urls_fail_at_once() {
    let mut r = Reactor::new().unwrap();
    for url in [
        "ftp://example.com/",
        "http://",
        "http://host:99999/",
        "http://user@host/",
        "not a url",
        "http://exa mple.com/",
    ] {
        let d = client().get(&mut r, url);
        assert!(
            matches!(fetch_error(wait(&mut r, d)), FetchError::BadUrl { .. }),
            "{url}"
        );
    }
}

#[test]
fn a_refused_connection_and_an_unknown_host_are_typed() {
    let mut r = Reactor::new().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = client().get(&mut r, &format!("http://127.0.0.1:{port}/"));
    assert!(matches!(fetch_error(wait(&mut r, d)), FetchError::Refused { .. }));
    let d = client().get(&mut r, "http://no-such-host.invalid/");
    match fetch_error(wait(&mut r, d)) {
        FetchError::Resolve { host, .. } => assert_eq!(host, "no-such-host.invalid"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_connect_that_never_completes_times_out() {
    // A listener that never accepts, with a backlog of 0: once its accept
    // queue is full, Linux drops further SYNs, so a connect hangs.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into())
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    // Fill the queue until a connect stalls.
    let mut queued = Vec::new();
    while let Ok(s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
        queued.push(s);
        assert!(queued.len() < 64, "the accept queue never filled");
    }
    let mut r = Reactor::new().unwrap();
    let d = HttpClient::new()
        .connect_timeout(Duration::from_millis(200))
        .get(&mut r, &format!("http://{addr}/"));
    assert_eq!(
        fetch_error(wait(&mut r, d)),
        FetchError::ConnectTimeout {
            after: Duration::from_millis(200)
        }
    );
    drop(queued);
}

#[test]
fn a_silent_server_times_out() {
    // Silent for a minute: only the client's own timeout ends the fetch sooner.
    let server = scripted(vec![Script::Silent(Duration::from_secs(60))]);
    let mut r = Reactor::new().unwrap();
    let started = Instant::now();
    let d = HttpClient::new()
        .timeout(Some(Duration::from_millis(300)))
        .get(&mut r, &format!("http://{}/", server.addr));
    assert_eq!(
        fetch_error(wait(&mut r, d)),
        FetchError::Timeout {
            after: Duration::from_millis(300)
        }
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(r.connection_count(), 0, "the connection was aborted");
}

#[test]
fn bodies_past_the_limit_fail() {
    let mut r = Reactor::new().unwrap();
    let base = site(&mut r);
    let d = client().max_body(100).get(&mut r, &format!("{base}/big"));
    assert_eq!(
        fetch_error(wait(&mut r, d)),
        FetchError::BodyTooLarge { limit: 100 }
    );
    let d = client().max_body(2).get(&mut r, &format!("{base}/long"));
    assert_eq!(
        fetch_error(wait(&mut r, d)),
        FetchError::BodyTooLarge { limit: 2 }
    );
}

#[test]
fn malformed_and_truncated_responses_fail() {
    let server = scripted(vec![
        Script::Reply(vec![b"SSH-2.0-OpenSSH_9.2\r\n".to_vec()], Duration::ZERO),
        Script::Reply(
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".to_vec()],
            Duration::ZERO,
        ),
        Script::Reply(vec![], Duration::ZERO),
        Script::Reply(
            vec![b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n".to_vec()],
            Duration::ZERO,
        ),
    ]);
    let mut r = Reactor::new().unwrap();
    let mut get = || {
        let d = client().get(&mut r, &format!("http://{}/", server.addr));
        fetch_error(wait(&mut r, d))
    };
    assert!(matches!(get(), FetchError::Malformed { .. }));
    assert!(matches!(get(), FetchError::Closed { .. }));
    assert!(matches!(get(), FetchError::Closed { .. }));
    assert!(matches!(get(), FetchError::Malformed { .. }));
}

#[test]
fn cancelling_aborts_the_fetch() {
    let server = scripted(vec![Script::Silent(Duration::from_secs(2))]);
    let mut r = Reactor::new().unwrap();
    let d = client().get(&mut r, &format!("http://{}/", server.addr));
    let to_cancel = d.clone();
    r.call_later(Duration::from_millis(100), move |r| to_cancel.cancel(r));
    let result: Result<Response, _> = wait(&mut r, d);
    assert!(result.err().is_some_and(|f| f.is_cancelled()));
    r.iterate(Some(Duration::from_millis(50))).unwrap();
    assert_eq!(r.connection_count(), 0);
}

/// Counts the connections a site accepts.
struct Counting {
    site: Site,
    accepted: Rc<std::cell::Cell<usize>>,
}

impl torsion::Factory for Counting {
    fn build_protocol(
        &mut self,
        r: &mut Reactor,
        peer: &torsion::Address,
    ) -> Option<Box<dyn torsion::Protocol>> {
        self.accepted.set(self.accepted.get() + 1);
        self.site.build_protocol(r, peer)
    }
}

#[test]
fn a_client_keeps_and_reuses_its_connections() {
    let mut r = Reactor::new().unwrap();
    let mut root = Node::new();
    root.put_child("", Text("hello"))
        .put_child("long", Long::new(Duration::from_millis(10)))
        .put_child("r", Redirect::new("/"));
    let accepted = Rc::new(std::cell::Cell::new(0));
    let factory = Counting {
        site: Site::new(root),
        accepted: accepted.clone(),
    };
    let id = r.listen_tcp("127.0.0.1:0".parse().unwrap(), factory).unwrap();
    let base = format!("http://{}", r.local_addr(id).unwrap());
    let client = client();
    for path in ["/", "/long", "/", "/long", "/"] {
        let d = client.get(&mut r, &format!("{base}{path}"));
        assert_eq!(wait(&mut r, d).unwrap().status, 200);
        assert_eq!(client.idle_connections(), 1);
    }
    assert_eq!(accepted.get(), 1, "five requests, one connection");
    // A fetch started from the callback of another, to the same origin,
    // while its connection is still handing over: a second connection.
    let (again, base2) = (client.clone(), base.clone());
    let d = client.get(&mut r, &format!("{base}/")).then(&mut r, move |r, _| {
        Ok::<_, torsion::Failure>(again.get(r, &format!("{base2}/")))
    });
    let inner = wait(&mut r, d).unwrap();
    assert_eq!(wait(&mut r, inner).unwrap().text(), "hello");
    assert!(accepted.get() <= 2);
    // A redirect is not followed on the same connection.
    let d = client.get(&mut r, &format!("{base}/r"));
    assert_eq!(wait(&mut r, d).unwrap().text(), "hello");
}

#[test]
fn a_kept_connection_the_server_dropped_is_retried_on_a_new_one() {
    let keep = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst".to_vec();
    let server = scripted(vec![
        Script::AnswerThenDrop(keep),
        Script::Reply(
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecond".to_vec()],
            Duration::ZERO,
        ),
    ]);
    let mut r = Reactor::new().unwrap();
    let client = client();
    let d = client.get(&mut r, &format!("http://{}/1", server.addr));
    assert_eq!(wait(&mut r, d).unwrap().text(), "first");
    assert_eq!(client.idle_connections(), 1);
    let d = client.get(&mut r, &format!("http://{}/2", server.addr));
    assert_eq!(wait(&mut r, d).unwrap().text(), "second");
    assert_eq!(client.idle_connections(), 0, "Connection: close is not kept");
    let heads: Vec<String> = server.requests.try_iter().collect();
    assert_eq!(heads.len(), 3, "{heads:?}");
    assert!(
        heads[1].starts_with("GET /2 ") && heads[2].starts_with("GET /2 "),
        "{heads:?}"
    );
}
