//! The seeds' timing client (`timingclient.py`, and `simpleclient4.py` on
//! Twisted): send each URL to a line proxy over its own connection, all at
//! the same moment, and time each page as the client sees it.
//!
//! Against a blocking proxy the pages arrive one after another and the
//! total is the *sum* of the fetches; against a non-blocking one they
//! arrive together and the total is the *longest* fetch. [`Report::table`]
//! prints the seeds' table, with the proxy's own time for each page
//! (Server) beside the client's:
//!
//! ```text
//! Site                               Bytes   Server   Client
//! ====                               =====   ======   ======
//! http://127.0.0.1:9000/delay/0.5       11    0.501    0.503
//! http://127.0.0.1:9000/delay/1.0       11    1.002    1.004
//! ----                               -----   ------   ------
//! Total:                                22    1.503    1.004
//! ```
//!
//! The Server time is what the proxy reports: each URL is sent as `URL
//! timed`, and torsion-proxy starts its answer with `TIME <seconds>`, the
//! time the page took it (see `torsion_servers::proxy`); a proxy that
//! does not say shows `-`. Its total is the sum, the time the proxy spent
//! on pages; the client's total is the time for all of them together.
//!
//! Each client time runs from the common start (before connecting) to the
//! proxy's close. A reply that is one `ERROR ...` line counts as a failed
//! page, and shows its reason. Replies are counted, not kept: only their
//! first bytes are held, to recognize an error line and the time.

use std::time::{Duration, Instant};

use torsion::defer::ListResult;
use torsion::endpoint::ClientEndpoint;
use torsion::{CloseReason, Ctx, Deferred, DeferredList, Failure, Protocol, Reactor};

/// Bytes of a reply kept to recognize an `ERROR` line.
const KEPT: usize = 512;

/// How one URL went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The page arrived: this many bytes.
    Page(u64),
    /// The proxy answered with an error line (the reason, without `ERROR `).
    Error(String),
    /// No answer: the connection failed, or the time ran out.
    Failed(String),
}

/// One URL's time, as the client saw it, and as the proxy reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    /// The URL sent.
    pub url: String,
    /// From the common start to the end of the reply.
    pub took: Duration,
    /// The proxy's time for the page, if it said (`TIME <seconds>`).
    pub server: Option<Duration>,
    /// What came back (the page's bytes do not count the `TIME` line).
    pub outcome: Outcome,
}

/// Every URL's timing, in the order given, and the time for all of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// One per URL, in the order given.
    pub timings: Vec<Timing>,
    /// From the common start until the last reply ended.
    pub total: Duration,
}

impl Report {
    /// Whether every URL got its page.
    pub fn all_ok(&self) -> bool {
        self.timings.iter().all(|t| matches!(t.outcome, Outcome::Page(_)))
    }

    /// The seeds' table: site, bytes, the proxy's time and the client's
    /// for each URL, then the totals (bytes and the proxy's times summed;
    /// the client's time is for all of them together).
    ///
    /// ```
    /// use std::time::Duration;
    /// use torsion_clients::timing::{Outcome, Report, Timing};
    ///
    /// let report = Report {
    ///     timings: vec![
    ///         Timing {
    ///             url: "http://a/".into(),
    ///             took: Duration::from_millis(500),
    ///             server: Some(Duration::from_millis(498)),
    ///             outcome: Outcome::Page(10),
    ///         },
    ///         Timing {
    ///             url: "http://b/".into(),
    ///             took: Duration::from_millis(5),
    ///             server: None,
    ///             outcome: Outcome::Error("refused".into()),
    ///         },
    ///     ],
    ///     total: Duration::from_millis(500),
    /// };
    /// let table = report.table();
    /// assert!(table.lines().nth(2).unwrap().ends_with("10    0.498    0.500"));
    /// assert!(table.contains("ERROR refused"));
    /// assert!(table.lines().last().unwrap().ends_with("10    0.498    0.500"));
    /// ```
    pub fn table(&self) -> String {
        let width = self
            .timings
            .iter()
            .map(|t| t.url.chars().count())
            .max()
            .unwrap_or(0)
            .max(6)
            + 2;
        let row = |site: &str, bytes: &str, server: &str, client: &str| {
            format!("{site:<width$}{bytes:>8}{server:>9}{client:>9}")
        };
        let seconds = |d: Duration| format!("{:.3}", d.as_secs_f64());
        let mut out = vec![
            row("Site", "Bytes", "Server", "Client"),
            row("====", "=====", "======", "======"),
        ];
        let mut bytes = 0;
        let mut server_total = Duration::ZERO;
        for t in &self.timings {
            let took = seconds(t.took);
            let server = t.server.map_or_else(|| "-".to_string(), seconds);
            server_total += t.server.unwrap_or_default();
            match &t.outcome {
                Outcome::Page(n) => {
                    bytes += n;
                    out.push(row(&t.url, &n.to_string(), &server, &took));
                }
                Outcome::Error(why) => {
                    out.push(format!("{}   ERROR {why}", row(&t.url, "-", &server, &took)))
                }
                Outcome::Failed(why) => {
                    out.push(format!("{}   failed: {why}", row(&t.url, "-", &server, &took)))
                }
            }
        }
        out.push(row("----", "-----", "------", "------"));
        out.push(row(
            "Total:",
            &bytes.to_string(),
            &seconds(server_total),
            &seconds(self.total),
        ));
        let mut text = out.join("\n");
        text.push('\n');
        text
    }
}

/// One URL's connection: sends the URL, counts the reply until the close.
struct TimingClient {
    url: String,
    started: Instant,
    head: Vec<u8>,
    bytes: u64,
    done: Deferred<Timing>,
}

impl Protocol for TimingClient {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        ctx.write_sequence(&[self.url.as_bytes(), b" timed\r\n"]);
    }

    fn data_received(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) {
        self.bytes += data.len() as u64;
        let room = KEPT.saturating_sub(self.head.len());
        self.head.extend_from_slice(&data[..room.min(data.len())]);
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        let took = self.started.elapsed();
        let (server, line) = time_line(&self.head).unzip();
        let page = self.bytes - line.unwrap_or(0) as u64;
        let outcome = match self.head.strip_prefix(b"ERROR ") {
            Some(rest) if self.bytes as usize == self.head.len() => {
                Outcome::Error(String::from_utf8_lossy(rest).trim_end().to_string())
            }
            _ if self.bytes == 0 && !reason.is_clean() => Outcome::Failed(reason.to_string()),
            _ => Outcome::Page(page),
        };
        let timing = Timing {
            url: self.url.clone(),
            took,
            server,
            outcome,
        };
        let _ = self.done.callback(ctx, timing);
    }
}

/// The proxy's `TIME <seconds>\r\n` at the start of a reply: the time,
/// and the line's length.
fn time_line(head: &[u8]) -> Option<(Duration, usize)> {
    let rest = head.strip_prefix(b"TIME ")?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    let seconds: f64 = std::str::from_utf8(&rest[..end]).ok()?.trim().parse().ok()?;
    let took = Duration::try_from_secs_f64(seconds).ok()?;
    Some((took, b"TIME ".len() + end + 2))
}

/// Sends every URL (as `URL timed`) to the line proxy at `proxy`, each
/// over its own connection, all at once; fires with the report once every reply ended
/// (a URL without an answer after `timeout` is reported as failed).
pub fn time_urls(
    reactor: &mut Reactor,
    proxy: &ClientEndpoint,
    urls: &[String],
    timeout: Duration,
) -> Deferred<Report> {
    let started = Instant::now();
    let all: Vec<Deferred<Timing>> = urls
        .iter()
        .map(|url| {
            let done: Deferred<Timing> = Deferred::new();
            let client = TimingClient {
                url: url.clone(),
                started,
                head: Vec::new(),
                bytes: 0,
                done: done.clone(),
            };
            let failed = done.clone();
            let name = url.clone();
            endpoint_connect(reactor, proxy, client, move |r, failure| {
                let _ = failed.callback(
                    r,
                    Timing {
                        url: name,
                        took: started.elapsed(),
                        server: None,
                        outcome: Outcome::Failed(failure.to_string()),
                    },
                );
            });
            let name = url.clone();
            done.add_timeout(reactor, timeout);
            done.add_errback(reactor, move |_, failure| {
                Ok(Timing {
                    url: name,
                    took: started.elapsed(),
                    server: None,
                    outcome: Outcome::Failed(failure.to_string()),
                })
            });
            done
        })
        .collect();
    DeferredList::new(all)
        .consume_errors(true)
        .start(reactor)
        .then(reactor, move |_, results| {
            let timings = match results {
                ListResult::All(results) => results.into_iter().filter_map(Result::ok).collect(),
                ListResult::First { .. } => Vec::new(),
            };
            Ok::<Report, Failure>(Report {
                timings,
                total: started.elapsed(),
            })
        })
}

/// Connects `client`; `failed` hears why if the connection cannot be made.
fn endpoint_connect(
    reactor: &mut Reactor,
    endpoint: &ClientEndpoint,
    client: TimingClient,
    failed: impl FnOnce(&mut Reactor, Failure) + 'static,
) {
    endpoint
        .connect_protocol(reactor, client)
        .then_both(reactor, move |r, connected| {
            if let Err(failure) = connected {
                failed(r, failure);
            }
            Ok::<(), Failure>(())
        })
        .mark_handled();
}
