//! [`LineProxy`]: the seeds' proxy, done right. A client sends a URL and a
//! newline; the proxy gets the page with
//! [`get_cached_page`](CachedPages::get_cached_page) (never blocking the
//! loop), writes the body, and closes once it is delivered.
//!
//! What the seeds leave out, and this adds: a line that is not an http(s)
//! URL, and a fetch that fails, get one line, `ERROR <why>`, before the
//! close (the seeds silently ignore the first and never answer the
//! second); every request is logged at info level when it starts and when
//! it ends, with its status, size, time and source.
//!
//! The seeds' timing table shows, beside each client's time, the time the
//! proxy took for the page. A client that wants it sends `URL timed`: the
//! answer then starts with a line `TIME <seconds>`, the time from the
//! request to the page in the proxy's hands, before the page
//! (`torsion-timing` does this). Without the word, the answer is the page
//! alone, as in the seeds.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use torsion::{CloseReason, ConnectionId, DelayedCall, Failure, Reactor};
use torsion_clients::http::Url;
use torsion_protocols::{LineCtx, LineHandler, LineReceiver};

use super::config::IDLE_TIMEOUT;
use super::page::Page;
use super::pages::CachedPages;

/// Where a client's request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Waiting for the URL line.
    Waiting,
    /// The page is on its way; more lines are ignored.
    Fetching,
    /// Answered (or refused); the connection is closing.
    Done,
}

/// One client of the line proxy.
pub struct LineProxy {
    pages: CachedPages,
    /// Shared with the idle timer.
    state: Rc<Cell<State>>,
    max_line: usize,
    idle_timeout: Duration,
    idle: Option<DelayedCall>,
}

impl LineProxy {
    /// A client served from `pages`, sending lines of at most `max_line`
    /// bytes, with the default idle timeout ([`IDLE_TIMEOUT`]).
    pub fn new(pages: CachedPages, max_line: usize) -> Self {
        LineProxy {
            pages,
            state: Rc::new(Cell::new(State::Waiting)),
            max_line,
            idle_timeout: IDLE_TIMEOUT,
            idle: None,
        }
    }

    /// How long the client may take to send its URL line (from the moment
    /// it connects: a line trickling in a byte at a time does not restart
    /// the wait), and to read any of its answer: past it, a client still
    /// silent gets `ERROR no URL line within ...` and a close, and one
    /// that reads nothing of its page is cut off.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    fn state(&self) -> State {
        self.state.get()
    }

    fn set_state(&mut self, state: State) {
        self.state.set(state);
    }

    /// Its protocol: `\n`-terminated lines (a `\r` before the `\n` is
    /// dropped, so telnet's `\r\n` works too).
    pub fn protocol(self) -> LineReceiver<LineProxy> {
        let max = self.max_line;
        LineReceiver::new(self)
            .with_delimiter(b"\n")
            .with_max_line_length(max)
    }

    fn request(&mut self, ctx: &mut LineCtx<'_, '_>, line: &[u8]) {
        self.set_state(State::Done);
        if let Some(timer) = self.idle.take() {
            let _ = timer.cancel(ctx);
        }
        let LineRequest { url, timed } = match parse_line(line) {
            Ok(request) => request,
            Err(why) => {
                log::info!("{}: refused: {why}", ctx.id());
                refuse(ctx, &why);
                return;
            }
        };
        self.set_state(State::Fetching);
        log::info!("fetching {url}");
        let id = ctx.id();
        let started = ctx.now();
        let (state, period) = (self.state.clone(), self.idle_timeout);
        let page = self.pages.get_cached_page(ctx, &url);
        let _answered = page.then_both(ctx, move |r, result| {
            let took = r.now().saturating_sub(started);
            let mut t = r.transport(id);
            match result {
                Ok(page) => {
                    log_fetched(module_path!(), &url, &page, took);
                    if timed {
                        t.write(time_line(took).as_bytes());
                    }
                    t.write_bytes(page.body);
                }
                Err(failure) => {
                    log::info!("failed {url}: {failure}, after {:.3} s", took.as_secs_f64());
                    t.write(error_line(&format!("{url}: {failure}")).as_bytes());
                }
            }
            t.lose_connection();
            state.set(State::Done);
            watch_reading(r, id, period, usize::MAX);
            Ok::<(), Failure>(())
        });
    }
}

/// Cuts connection `id` off if its client reads nothing of what is
/// buffered for it within `period`: a page, once written, must drain (each
/// period, the buffer must be smaller than at the last look, `last`).
/// Ends by itself once the buffer is empty or the connection gone.
fn watch_reading(reactor: &mut Reactor, id: ConnectionId, period: Duration, last: usize) {
    let buffered = reactor.transport(id).buffered();
    if buffered == 0 {
        return;
    }
    if buffered >= last {
        log::info!("{id}: the client read none of its answer for {period:?}; closing");
        reactor.transport(id).abort_with(CloseReason::TimedOut);
        return;
    }
    let _ = reactor.call_later(period, move |r| watch_reading(r, id, period, buffered));
}

/// Starts the wait for the URL line of connection `id`.
fn wait_for_line(
    reactor: &mut Reactor,
    id: ConnectionId,
    state: Rc<Cell<State>>,
    period: Duration,
) -> DelayedCall {
    reactor.call_later(period, move |r| {
        if state.get() == State::Waiting {
            state.set(State::Done);
            log::info!("{id}: refused: no URL line within {period:?}");
            let mut t = r.transport(id);
            t.write(error_line(&format!("no URL line within {} s", period.as_secs_f64())).as_bytes());
            t.lose_connection();
        }
    })
}

/// The seeds' `fetched URL took N`, with the status, size and source, as
/// module `target` (the line proxy, or the blocking one).
pub(crate) fn log_fetched(target: &str, url: &str, page: &Page, took: Duration) {
    log::info!(
        target: target,
        "fetched {url}: {}, {} bytes, took {:.3} s ({})",
        page.status,
        page.body.len(),
        took.as_secs_f64(),
        page.source
    );
}

/// `ERROR <why>\r\n`, on one line whatever `why` holds.
pub fn error_line(why: &str) -> String {
    let mut line = String::from("ERROR ");
    for c in why.chars() {
        if c.is_control() {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    line.push_str("\r\n");
    line
}

fn refuse(ctx: &mut LineCtx<'_, '_>, why: &str) {
    ctx.write(error_line(why).as_bytes());
    ctx.lose_connection();
}

/// `TIME <seconds>\r\n`: what a `timed` request's answer starts with.
pub(crate) fn time_line(took: Duration) -> String {
    format!("TIME {:.6}\r\n", took.as_secs_f64())
}

/// What a client asked for on its line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LineRequest {
    /// The URL, normalized (the cache's key).
    pub(crate) url: String,
    /// `URL timed`: the answer starts with the proxy's time.
    pub(crate) timed: bool,
}

/// The request on a line (`URL`, or `URL timed`), or why it is not one.
pub(crate) fn parse_line(line: &[u8]) -> Result<LineRequest, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Ok(text) = std::str::from_utf8(line) else {
        return Err("not an http(s) URL: the line is not UTF-8".into());
    };
    let text = text.trim();
    if text.is_empty() {
        return Err("not an http(s) URL: an empty line".into());
    }
    // A URL holds no space: a word after it is an option.
    let (first, option) = match text.split_once(char::is_whitespace) {
        Some((url, rest)) => (url, Some(rest.trim())),
        None => (text, None),
    };
    let url = Url::parse(first).map(|url| url.to_string()).map_err(|e| {
        // Quote at most a little of the line back.
        let shown: String = text.chars().take(80).collect();
        let more = if shown.len() < text.len() { "..." } else { "" };
        let reason = match e {
            torsion_clients::http::FetchError::BadUrl { reason, .. } => reason,
            other => other.to_string(),
        };
        format!("not an http(s) URL: {shown:?}{more} ({reason})")
    })?;
    let timed = match option {
        None => false,
        Some("timed") => true,
        Some(other) => {
            let shown: String = other.chars().take(40).collect();
            return Err(format!(
                "{shown:?} after the URL: the only word a request may add is `timed`"
            ));
        }
    };
    Ok(LineRequest { url, timed })
}

impl LineHandler for LineProxy {
    fn connection_made(&mut self, ctx: &mut LineCtx<'_, '_>) {
        let id = ctx.id();
        self.idle = Some(wait_for_line(ctx, id, self.state.clone(), self.idle_timeout));
    }

    fn line_received(&mut self, ctx: &mut LineCtx<'_, '_>, line: &[u8]) {
        if self.state() == State::Waiting {
            self.request(ctx, line);
        }
    }

    fn line_length_exceeded(&mut self, ctx: &mut LineCtx<'_, '_>, _buffered: &[u8]) {
        if self.state() == State::Waiting {
            self.set_state(State::Done);
            log::info!(
                "{}: refused: a line longer than {} bytes",
                ctx.id(),
                self.max_line
            );
            refuse(ctx, &format!("line too long (at most {} bytes)", self.max_line));
        }
    }

    fn read_connection_lost(&mut self, ctx: &mut LineCtx<'_, '_>, rest: &[u8]) {
        match self.state() {
            // `printf URL | nc -N`: a last line without its newline.
            State::Waiting if !rest.is_empty() => self.request(ctx, rest),
            State::Waiting | State::Done => ctx.lose_connection(),
            // The client half-closed: the answer still goes out, then the close.
            State::Fetching => {}
        }
    }

    fn connection_lost(&mut self, ctx: &mut LineCtx<'_, '_>, reason: CloseReason) {
        if let Some(timer) = self.idle.take() {
            let _ = timer.cancel(ctx);
        }
        if self.state() == State::Fetching && !reason.is_clean() {
            log::debug!("{}: the client left before its answer ({reason})", ctx.id());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_a_url_and_maybe_timed() {
        let plain = parse_line(b"http://example.com/a\r").unwrap();
        assert_eq!((plain.url.as_str(), plain.timed), ("http://example.com/a", false));
        let timed = parse_line(b" http://example.com/a   timed ").unwrap();
        assert_eq!((timed.url.as_str(), timed.timed), ("http://example.com/a", true));
        let other = parse_line(b"http://example.com/a please").unwrap_err();
        assert!(other.contains("\"please\" after the URL"), "{other}");
        assert!(parse_line(b"garbage timed")
            .unwrap_err()
            .starts_with("not an http(s) URL"));
        assert_eq!(time_line(Duration::from_millis(503)), "TIME 0.503000\r\n");
    }
}
