//! `--blocking`: the seeds' first proxy (`proxy1.py`), wrong on purpose.
//!
//! It fetches the page *inside* `line_received`, with a blocking socket,
//! as `urllib2.urlopen(line).read()` does. While one page downloads the
//! loop can do nothing else: other clients' lines wait unread, so four
//! pages of 0.5, 1.0, 1.5 and 0.8 s take 3.8 s for the last client instead
//! of 1.5 s, and the reactor names the culprit in its slow-callback
//! warning (`slow callback: data_received of
//! torsion_servers::proxy::blocking::BlockingProxy on conn#2.3 kept the
//! loop busy for 502 ms`). `docs/proxy.md` shows
//! both tables side by side. Never write a server this way.
//!
//! The blocking fetch speaks plain HTTP/1.1 only (no TLS), follows
//! redirects, and is bounded like the real client: a timeout for each
//! connect and read, the largest body, the most redirects.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use torsion_clients::http::{FetchError, Scheme, Url, DEFAULT_MAX_REDIRECTS, DEFAULT_USER_AGENT};
use torsion_protocols::http::{Body, BodyDecoder, Limits, ResponseParser};
use torsion_protocols::{Decoder, Parsed};
use torsion_protocols::{LineCtx, LineHandler, LineReceiver};

use super::line::{error_line, log_fetched, parse_line, time_line, LineRequest};
use super::page::{Page, PageError, Source};

/// The bounds of a blocking fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockingLimits {
    /// For each connect.
    pub connect_timeout: Duration,
    /// For the whole fetch (each read and write waits at most what is left).
    pub timeout: Duration,
    /// The largest body.
    pub max_body: u64,
    /// The most redirects followed.
    pub max_redirects: usize,
}

/// One client of the blocking proxy.
pub struct BlockingProxy {
    limits: BlockingLimits,
    answered: bool,
}

impl BlockingProxy {
    /// A client whose fetches have these `limits`.
    pub fn new(limits: BlockingLimits) -> Self {
        BlockingProxy {
            limits,
            answered: false,
        }
    }

    /// Its protocol: `\n`-terminated lines of at most `max_line` bytes.
    pub fn protocol(self, max_line: usize) -> LineReceiver<BlockingProxy> {
        LineReceiver::new(self)
            .with_delimiter(b"\n")
            .with_max_line_length(max_line)
    }
}

impl LineHandler for BlockingProxy {
    fn line_received(&mut self, ctx: &mut LineCtx<'_, '_>, line: &[u8]) {
        if std::mem::replace(&mut self.answered, true) {
            return;
        }
        let LineRequest { url, timed } = match parse_line(line) {
            Ok(request) => request,
            Err(why) => {
                ctx.write(error_line(&why).as_bytes());
                ctx.lose_connection();
                return;
            }
        };
        log::info!("fetching {url}");
        let started = Instant::now();
        // The mistake, kept on purpose: the loop stops here until the
        // whole page has arrived.
        let result = fetch_blocking(&url, self.limits);
        let took = started.elapsed();
        match result {
            Ok(page) => {
                log_fetched(module_path!(), &url, &page, took);
                if timed {
                    ctx.write(time_line(took).as_bytes());
                }
                ctx.write_bytes(page.body);
            }
            Err(why) => {
                log::info!("failed {url}: {why}, after {:.3} s", took.as_secs_f64());
                ctx.write(error_line(&format!("{url}: {why}")).as_bytes());
            }
        }
        ctx.lose_connection();
    }

    fn line_length_exceeded(&mut self, ctx: &mut LineCtx<'_, '_>, _buffered: &[u8]) {
        if !std::mem::replace(&mut self.answered, true) {
            let why = format!("line too long (at most {} bytes)", ctx.max_line_length());
            ctx.write(error_line(&why).as_bytes());
        }
        ctx.lose_connection();
    }
}

/// Fetches `url` with blocking sockets, following redirects: the seeds'
/// `urllib2.urlopen(url).read()`. An error status (400 and up) is an
/// error, as in the non-blocking proxy.
pub fn fetch_blocking(url: &str, limits: BlockingLimits) -> Result<Page, String> {
    let deadline = Instant::now() + limits.timeout;
    let mut url = Url::parse(url).map_err(|e| e.to_string())?;
    let mut redirects = 0;
    loop {
        if url.scheme() == Scheme::Https {
            return Err("the blocking proxy speaks plain http only".into());
        }
        let (status, reason, location, body) = get_once(&url, limits, deadline)?;
        match location {
            Some(location) if matches!(status, 301 | 302 | 303 | 307 | 308) => {
                let next = url.join(&location).map_err(|e| e.to_string())?;
                if redirects >= limits.max_redirects {
                    return Err(FetchError::TooManyRedirects {
                        limit: limits.max_redirects,
                        url: next.to_string(),
                    }
                    .to_string());
                }
                redirects += 1;
                url = next;
            }
            _ if status >= 400 => return Err(PageError::Status { status, reason }.to_string()),
            _ => {
                return Ok(Page {
                    status,
                    body: body.into(),
                    source: Source::Blocking,
                })
            }
        }
    }
}

impl Default for BlockingLimits {
    fn default() -> Self {
        BlockingLimits {
            connect_timeout: super::config::CONNECT_TIMEOUT,
            timeout: super::config::FETCH_TIMEOUT,
            max_body: super::config::MAX_BODY,
            max_redirects: DEFAULT_MAX_REDIRECTS,
        }
    }
}

type Fetched = (u16, String, Option<String>, Vec<u8>);

/// One request and its response: status, reason, Location, body.
fn get_once(url: &Url, limits: BlockingLimits, deadline: Instant) -> Result<Fetched, String> {
    let addr = format!("{}:{}", url.host(), url.port());
    let addrs: Vec<_> = (url.host(), url.port())
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {:?}: {e}", url.host()))?
        .collect();
    let mut last = format!("cannot connect to {addr}");
    let mut stream = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, limits.connect_timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = FetchError::Refused { addr: addr.clone() }.to_string();
            }
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    let mut stream = stream.ok_or(last)?;
    let left = |deadline: Instant| {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                FetchError::Timeout {
                    after: limits.timeout,
                }
                .to_string()
            })
    };
    stream
        .set_write_timeout(Some(left(deadline)?))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {DEFAULT_USER_AGENT}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.target(),
        url.host_header()
    );
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut read = |buf: &mut Vec<u8>| -> Result<bool, String> {
        stream
            .set_read_timeout(Some(left(deadline)?))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut chunk) {
            Ok(0) => Ok(false),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Err(FetchError::Timeout {
                    after: limits.timeout,
                }
                .to_string())
            }
            Err(e) => Err(FetchError::Closed {
                reason: e.to_string(),
            }
            .to_string()),
        }
    };
    let mut parser = ResponseParser::new(Limits::default());
    let head = loop {
        match parser.decode(&buf) {
            Parsed::Complete(message, consumed) => {
                buf.drain(..consumed);
                if (100..200).contains(&message.status) {
                    parser.reset();
                    continue;
                }
                break message;
            }
            Parsed::Incomplete => {
                if !read(&mut buf)? {
                    return Err(FetchError::Closed {
                        reason: "the server closed the connection without answering".into(),
                    }
                    .to_string());
                }
            }
            Parsed::Error(e) => {
                return Err(FetchError::Malformed {
                    reason: e.to_string(),
                }
                .to_string())
            }
        }
    };
    let kind = head.body_kind("GET").map_err(|e| {
        FetchError::Malformed {
            reason: e.to_string(),
        }
        .to_string()
    })?;
    let mut decoder = BodyDecoder::new(kind);
    let mut body = Vec::new();
    loop {
        match decoder.decode(&buf) {
            Parsed::Complete(Body::Data(data), consumed) => {
                body.extend_from_slice(data);
                buf.drain(..consumed);
                if body.len() as u64 > limits.max_body {
                    return Err(FetchError::BodyTooLarge {
                        limit: limits.max_body,
                    }
                    .to_string());
                }
            }
            Parsed::Complete(Body::End, _) => break,
            Parsed::Incomplete => {
                if !read(&mut buf)? {
                    decoder.finish().map_err(|_| {
                        FetchError::Closed {
                            reason: "the server closed the connection in the middle of the body".into(),
                        }
                        .to_string()
                    })?;
                    break;
                }
            }
            Parsed::Error(e) => {
                return Err(FetchError::Malformed {
                    reason: e.to_string(),
                }
                .to_string())
            }
        }
    }
    let location = head.headers.get("location").map(str::to_string);
    Ok((head.status, head.reason, location, body))
}
