//! A test site and a response reader, shared by the web tests.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use torsion::testing::StringTransport;
use torsion::Reactor;
use torsion_protocols::http::{Body, BodyDecoder, Headers, ResponseParser};
use torsion_protocols::{Decoder, Parsed};
use torsion_servers::web::demo::Long;
use torsion_servers::web::{Node, Redirect, Render, Request, Resource, Site};

/// Says hello.
pub struct Hello;

impl Resource for Hello {
    fn render_get(&self, _r: &mut Reactor, _request: &Request) -> Render {
        "hello".into()
    }
}

/// Shows what it got: method, query, form, body length, a header.
pub struct Echo;

impl Resource for Echo {
    fn allowed_methods(&self) -> &[&'static str] {
        &["GET", "HEAD", "POST"]
    }

    fn render(&self, _r: &mut Reactor, request: &Request) -> Render {
        request.set_header("Content-Type", "text/plain");
        let mut out = format!("{} {}\n", request.method(), request.path());
        for (k, v) in request.query() {
            out.push_str(&format!("query {k}={v}\n"));
        }
        for (k, v) in request.form() {
            out.push_str(&format!("form {k}={v}\n"));
        }
        out.push_str(&format!("body {}\n", request.body().len()));
        if let Some(x) = request.header("x-test") {
            out.push_str(&format!("x-test {x}\n"));
        }
        out.into()
    }
}

/// Answers later: keeps its requests for the test to finish, and records
/// how each ended (`"finished"` or `"gone"`).
#[derive(Clone, Default)]
pub struct Later {
    pub pending: Rc<RefCell<Vec<Request>>>,
    pub outcomes: Rc<RefCell<Vec<&'static str>>>,
}

impl Resource for Later {
    fn render_get(&self, r: &mut Reactor, request: &Request) -> Render {
        self.pending.borrow_mut().push(request.clone());
        let outcomes = self.outcomes.clone();
        request.notify_finish().add_both(r, move |_, result| {
            outcomes
                .borrow_mut()
                .push(if result.is_ok() { "finished" } else { "gone" });
            Ok(())
        });
        Render::NotDoneYet
    }
}

/// A leaf: answers every path below it with its postpath.
pub struct Leaf;

impl Resource for Leaf {
    fn is_leaf(&self) -> bool {
        true
    }

    fn render_get(&self, _r: &mut Reactor, request: &Request) -> Render {
        format!("postpath {:?}", request.postpath()).into()
    }
}

/// The test site, and the access-log lines it wrote.
pub struct TestSite {
    pub site: Site,
    pub log: Rc<RefCell<Vec<String>>>,
    pub later: Later,
}

pub fn test_site() -> TestSite {
    let later = Later::default();
    let mut root = Node::new();
    root.put_child("", Hello)
        .put_child("echo", Echo)
        .put_child("long", Long::new(Duration::from_millis(100)))
        .put_child("later", later.clone())
        .put_child("leaf", Leaf)
        .put_child("moved", Redirect::with_status(301, "/echo"));
    let mut dir = Node::with_page(Hello);
    dir.put_child("inner", Hello);
    root.put_child("dir", dir);
    let log = Rc::new(RefCell::new(Vec::new()));
    let sink = log.clone();
    let site = Site::new(root)
        .max_body(1000)
        .idle_timeout(Duration::from_secs(5))
        .on_access_log(move |line| sink.borrow_mut().push(line.to_string()));
    TestSite { site, log, later }
}

/// A connection to the test site over an in-memory transport.
pub fn connect() -> (StringTransport, TestSite) {
    let mut site = test_site();
    let t = StringTransport::from_factory(&mut site.site);
    (t, site)
}

/// One response read back from the wire.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads whole responses from `wire` (to requests of `methods`, in
/// order); panics on anything that is not HTTP.
pub fn replies(wire: &[u8], methods: &[&str]) -> Vec<Reply> {
    let mut out = Vec::new();
    let mut rest = wire;
    for method in methods {
        let mut parser = ResponseParser::default();
        let Parsed::Complete(message, consumed) = parser.decode(rest) else {
            panic!("no whole head in {:?}", String::from_utf8_lossy(rest));
        };
        rest = &rest[consumed..];
        let mut decoder = BodyDecoder::new(message.body_kind(method).expect("framing"));
        let mut body = Vec::new();
        loop {
            match decoder.decode(rest) {
                Parsed::Complete(Body::Data(data), consumed) => {
                    body.extend_from_slice(data);
                    rest = &rest[consumed..];
                }
                Parsed::Complete(Body::End, consumed) => {
                    rest = &rest[consumed..];
                    break;
                }
                Parsed::Incomplete => {
                    decoder.finish().expect("a complete body");
                    break;
                }
                Parsed::Error(e) => panic!("{e}"),
            }
        }
        out.push(Reply {
            status: message.status,
            headers: message.headers,
            body,
        });
    }
    assert!(rest.is_empty(), "left over: {:?}", String::from_utf8_lossy(rest));
    out
}

/// The only response in `wire`.
pub fn reply(wire: &[u8]) -> Reply {
    replies(wire, &["GET"]).remove(0)
}

/// Runs `f` on the transport's reactor (as a timer or another connection
/// would), then lets the reactor settle.
pub fn on_loop(t: &mut StringTransport, f: impl FnOnce(&mut Reactor)) {
    f(t.reactor());
    t.pump();
}
