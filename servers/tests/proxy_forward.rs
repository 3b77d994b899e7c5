//! The forward proxy over real sockets, against a local origin and an
//! echo server on the same reactor: absolute-URI GET and HEAD, keep-alive,
//! headers, framing, refusals, CONNECT tunnels both ways with half-close,
//! and a large tunnelled transfer.

mod proxy_util;

use std::net::SocketAddr;
use std::time::Duration;

use proxy_util::{exchange, forward_proxy, hits, origin, wait, TIMEOUT};
use torsion::{factory_fn, CloseReason, Ctx, Deferred, OneShot, Protocol, Reactor};
use torsion_protocols::http::{Body, BodyDecoder, ResponseHead, ResponseParser};
use torsion_protocols::{Decoder, Parsed};
use torsion_servers::proxy::parse_authority;

/// The responses in `bytes`, to requests of `methods`: heads and bodies.
fn responses(mut bytes: &[u8], methods: &[&str]) -> Vec<(ResponseHead, Vec<u8>)> {
    let mut out = Vec::new();
    for method in methods {
        let mut parser = ResponseParser::default();
        let Parsed::Complete(message, consumed) = parser.decode(bytes) else {
            panic!("no head in {:?}", String::from_utf8_lossy(bytes));
        };
        bytes = &bytes[consumed..];
        let mut decoder = BodyDecoder::new(message.body_kind(method).unwrap());
        let mut body = Vec::new();
        loop {
            match decoder.decode(bytes) {
                Parsed::Complete(Body::Data(data), consumed) => {
                    body.extend_from_slice(data);
                    bytes = &bytes[consumed..];
                }
                Parsed::Complete(Body::End, consumed) => {
                    bytes = &bytes[consumed..];
                    break;
                }
                Parsed::Incomplete => {
                    decoder.finish().expect("a whole body");
                    break;
                }
                Parsed::Error(e) => panic!("{e}"),
            }
        }
        out.push((message, body));
    }
    assert!(
        bytes.is_empty(),
        "left over: {:?}",
        String::from_utf8_lossy(bytes)
    );
    out
}

fn get(url: &str, extra: &str) -> Vec<u8> {
    format!("GET {url} HTTP/1.1\r\nHost: ignored\r\n{extra}\r\n").into_bytes()
}

#[test]
fn an_absolute_uri_get_is_forwarded_and_streamed_back() {
    let mut r = Reactor::new().unwrap();
    let (base, hits_by_path) = origin(&mut r);
    let proxy = forward_proxy(&mut r);
    let reply = exchange(
        &mut r,
        proxy,
        &get(&format!("{base}/hello"), "Connection: close\r\n"),
        false,
    );
    let [(head, body)] = &responses(&reply, &["GET"])[..] else {
        panic!()
    };
    assert_eq!((head.status, body.as_slice()), (200, &b"hello\n"[..]));
    assert_eq!(head.headers.get("via"), Some("1.1 torsion-proxy"));
    assert_eq!(head.headers.get("connection"), Some("close"));
    assert_eq!(hits(&hits_by_path, "/hello"), 1);
    // A large body, whole and in order.
    let reply = exchange(
        &mut r,
        proxy,
        &get(&format!("{base}/bytes/5000000"), "Connection: close\r\n"),
        false,
    );
    let [(head, body)] = &responses(&reply, &["GET"])[..] else {
        panic!()
    };
    assert_eq!(head.headers.get("content-length"), Some("5000000"));
    assert_eq!(body.len(), 5_000_000);
    assert!(body.iter().enumerate().all(|(i, b)| *b == proxy_util::pattern(i)));
}

#[test]
fn keep_alive_head_chunked_and_redirects_pass_through() {
    let mut r = Reactor::new().unwrap();
    let (base, hits_by_path) = origin(&mut r);
    let proxy = forward_proxy(&mut r);
    // Four requests pipelined on one connection; the last closes it.
    let mut requests = get(&format!("{base}/hello"), "");
    requests.extend(format!("HEAD {base}/bytes/700 HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    requests.extend(get(&format!("{base}/chunked"), ""));
    requests.extend(get(&format!("{base}/redirect"), "Connection: close\r\n"));
    let reply = exchange(&mut r, proxy, &requests, false);
    let all = responses(&reply, &["GET", "HEAD", "GET", "GET"]);
    assert_eq!(all[0].1, b"hello\n");
    assert_eq!(
        (all[1].0.headers.get("content-length"), all[1].1.len()),
        (Some("700"), 0)
    );
    assert_eq!(all[2].0.headers.get("transfer-encoding"), Some("chunked"));
    assert_eq!(all[2].1, b"one two three\n");
    // Redirects are the client's to follow.
    assert_eq!(
        (all[3].0.status, all[3].0.headers.get("location")),
        (302, Some("/hello"))
    );
    assert_eq!(hits(&hits_by_path, "/hello"), 1);
    // An HTTP/1.0 client gets a chunked origin body until the close.
    let request = format!("GET {base}/chunked HTTP/1.0\r\n\r\n");
    let reply = exchange(&mut r, proxy, request.as_bytes(), false);
    let text = String::from_utf8_lossy(&reply);
    assert!(text.starts_with("HTTP/1.0 200"), "{text}");
    assert!(!text.to_ascii_lowercase().contains("transfer-encoding"), "{text}");
    assert!(text.ends_with("\r\n\r\none two three\n"), "{text}");
}

#[test]
fn hop_by_hop_headers_stay_with_their_hop() {
    let mut r = Reactor::new().unwrap();
    let (base, _) = origin(&mut r);
    let proxy = forward_proxy(&mut r);
    let extra =
        "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eDp5\r\nConnection: close, X-Private\r\n\
                 X-Private: secret\r\nX-Public: shown\r\nUser-Agent: tester/1.0\r\n";
    let reply = exchange(&mut r, proxy, &get(&format!("{base}/echo-headers"), extra), false);
    let [(_, body)] = &responses(&reply, &["GET"])[..] else {
        panic!()
    };
    let seen = String::from_utf8_lossy(body);
    assert!(seen.contains("x-public: shown\n"), "{seen}");
    assert!(seen.contains("user-agent: tester/1.0\n"), "{seen}");
    assert!(seen.contains("via: 1.1 torsion-proxy\n"), "{seen}");
    assert!(
        seen.contains(&format!("host: {}\n", base.trim_start_matches("http://"))),
        "{seen}"
    );
    for hidden in ["proxy-connection", "proxy-authorization", "x-private", "ignored"] {
        assert!(!seen.contains(hidden), "{hidden} forwarded: {seen}");
    }
}

#[test]
fn what_is_not_forwarded_is_refused_with_a_status_and_a_line() {
    let mut r = Reactor::new().unwrap();
    let (base, _) = origin(&mut r);
    let proxy = forward_proxy(&mut r);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap();
    drop(closed);
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (get("/hello", ""), 400, "forward proxy"),
        (
            format!("POST {base}/hello HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx").into_bytes(),
            501,
            "POST is not forwarded",
        ),
        (
            format!("GET {base}/hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc").into_bytes(),
            400,
            "bodies",
        ),
        (get(&format!("http://{dead}/"), ""), 502, "connection refused"),
        (get("http://", ""), 400, "bad URL"),
        (get("http://[::1/", ""), 400, "bad URL"),
        (b"CONNECT nowhere HTTP/1.1\r\n\r\n".to_vec(), 400, "host:port"),
        (
            format!("CONNECT {dead} HTTP/1.1\r\n\r\n").into_bytes(),
            502,
            "cannot connect",
        ),
        (b"\x16\x03\x01 not http at all\r\n\r\n".to_vec(), 400, ""),
    ];
    for (request, status, why) in cases {
        let reply = exchange(&mut r, proxy, &request, false);
        let [(head, body)] = &responses(&reply, &["GET"])[..] else {
            panic!()
        };
        let body = String::from_utf8_lossy(body);
        assert_eq!(head.status, status, "{body}");
        assert!(
            body.starts_with("torsion-proxy: ") && body.contains(why),
            "{body}"
        );
        assert_eq!(body.matches('\n').count(), 1, "{body}");
        assert_eq!(head.headers.get("connection"), Some("close"));
    }
    // A reset in the middle of a body cuts the client's connection.
    let reply = exchange(&mut r, proxy, &get(&format!("{base}/reset"), ""), false);
    let text = String::from_utf8_lossy(&reply);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(reply.len() < 100_000, "a truncated body");
    // Still serving.
    let reply = exchange(
        &mut r,
        proxy,
        &get(&format!("{base}/hello"), "Connection: close\r\n"),
        false,
    );
    assert!(reply.ends_with(b"\r\n\r\nhello\n"));
}

#[test]
fn connect_authorities_are_checked() {
    assert_eq!(
        parse_authority("example.com:443"),
        Ok(("example.com".into(), 443))
    );
    assert_eq!(parse_authority("[::1]:8443"), Ok(("::1".into(), 8443)));
    for bad in [
        "example.com",
        "example.com:0",
        ":443",
        "a b:1",
        "[::1]",
        "host:port",
        "x/y:80",
    ] {
        assert!(parse_authority(bad).is_err(), "{bad}");
    }
}

/// An echo server on `r`.
fn echo(r: &mut Reactor) -> SocketAddr {
    struct Echo;
    impl Protocol for Echo {
        fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
            ctx.write(data);
        }
    }
    let id = r
        .listen_tcp(
            "127.0.0.1:0".parse().unwrap(),
            factory_fn(|_, _| Some(Box::new(Echo) as Box<dyn Protocol>)),
        )
        .unwrap();
    r.local_addr(id).and_then(|a| a.as_socket_addr()).unwrap()
}

#[test]
fn connect_tunnels_bytes_both_ways_and_half_closes() {
    let mut r = Reactor::new().unwrap();
    let target = echo(&mut r);
    let proxy = forward_proxy(&mut r);
    // Bytes sent right after the CONNECT head, before the 200, are relayed
    // too; the client's end-of-file reaches the echo server, which closes
    // after echoing everything; the tunnel then closes.
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").into_bytes();
    request.extend_from_slice(b"ping through the tunnel");
    let reply = exchange(&mut r, proxy, &request, true);
    let text = String::from_utf8_lossy(&reply);
    assert_eq!(
        text,
        "HTTP/1.1 200 Connection established\r\nVia: 1.1 torsion-proxy\r\n\r\nping through the tunnel"
    );
}

/// Sends `total` bytes of a pattern through a tunnel to the echo server,
/// reading the echo slowly; fires with the echoed bytes' count once all
/// came back in order.
struct Pump {
    total: usize,
    sent: usize,
    got: usize,
    head_done: bool,
    head: Vec<u8>,
    target: SocketAddr,
    done: Deferred<usize>,
}

impl Pump {
    fn send_more(&mut self, ctx: &mut Ctx<'_>) {
        while self.sent < self.total && ctx.buffered() < 256 * 1024 {
            let n = (self.total - self.sent).min(32 * 1024);
            let chunk: Vec<u8> = (self.sent..self.sent + n).map(proxy_util::pattern).collect();
            ctx.write(&chunk);
            self.sent += n;
        }
        if self.sent == self.total {
            ctx.lose_write_connection();
        }
    }
}

impl Protocol for Pump {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        ctx.write(format!("CONNECT {} HTTP/1.1\r\n\r\n", self.target).as_bytes());
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, mut data: &[u8]) {
        if !self.head_done {
            self.head.extend_from_slice(data);
            let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
                return;
            };
            assert!(self.head.starts_with(b"HTTP/1.1 200"));
            self.head_done = true;
            let rest = self.head.split_off(end + 4);
            self.got += check(&rest, self.got);
            data = &[];
            self.send_more(ctx);
        }
        self.got += check(data, self.got);
        if self.got % (1 << 20) < data.len() {
            eprintln!("DEBUG got {} sent {}", self.got, self.sent);
        }
        // A slow reader: pause a little after each read.
        ctx.pause_reading();
        let id = ctx.id();
        ctx.call_later(Duration::from_millis(1), move |r| {
            r.transport(id).resume_reading()
        });
    }

    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        ctx.lose_connection();
    }

    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        if self.head_done {
            self.send_more(ctx);
        }
    }

    fn pause_producing(&mut self, _ctx: &mut Ctx<'_>) {}

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        assert!(reason.is_clean(), "{reason}");
        let _ = self.done.callback(ctx, self.got);
    }
}

/// Checks that `data` continues the pattern at `offset`; its length.
fn check(data: &[u8], offset: usize) -> usize {
    for (i, b) in data.iter().enumerate() {
        assert_eq!(*b, proxy_util::pattern(offset + i), "byte {}", offset + i);
    }
    data.len()
}

#[test]
fn a_large_transfer_through_a_tunnel_to_a_slow_reader_arrives_whole() {
    let mut r = Reactor::new().unwrap();
    let target = echo(&mut r);
    let proxy = forward_proxy(&mut r);
    let total = 16 << 20;
    let done = Deferred::new();
    let pump = Pump {
        total,
        sent: 0,
        got: 0,
        head_done: false,
        head: Vec::new(),
        target,
        done: done.clone(),
    };
    let _ = r.connect_tcp(proxy, OneShot::new(pump));
    done.add_timeout(&mut r, TIMEOUT);
    assert_eq!(wait(&mut r, done), total);
}
