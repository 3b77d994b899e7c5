//! The demo's pages but `/fetch`.

use std::time::Duration;

use torsion::{defer_to_thread, Reactor};
use torsion_protocols::http::percent_encode;

use super::fib::{fib, MAX_FIB};
use crate::web::{escape_html, Render, Request, Resource};

/// Wraps `body` (HTML, already escaped where needed) in a page titled `title`.
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n<h1>{}</h1>\n{body}\n<p><a href=\"/\">Index</a></p>\n</body></html>\n",
        escape_html(title),
        escape_html(title)
    )
}

/// `/`: links to every page.
pub struct Index;

impl Resource for Index {
    fn render_get(&self, _r: &mut Reactor, request: &Request) -> Render {
        // Fetch this very site's /page, by the name the client used for it.
        let host = request.header("host").unwrap_or("127.0.0.1");
        let fetch = format!("/fetch?url={}", percent_encode(&format!("http://{host}/page")));
        let links = [
            ("/page", "a plain page"),
            ("/long", "A, B, C one second apart (try curl -N)"),
            (fetch.as_str(), "fetch a page and stream it back"),
            ("/fib?num=1000", "fib(1000) on the thread pool"),
            ("/fib-blocking?num=1000", "fib(1000) on the loop (blocks it)"),
            ("/form", "a form"),
        ];
        let items: String = links
            .iter()
            .map(|(href, what)| {
                format!(
                    "<li><a href=\"{}\">{}</a>: {}</li>\n",
                    escape_html(href),
                    escape_html(href),
                    escape_html(what)
                )
            })
            .collect();
        page(
            "Torsion web demo",
            &format!("<p>The seeds' web examples, on the Torsion reactor.</p>\n<ul>\n{items}</ul>"),
        )
        .into()
    }
}

/// `/page`: a plain page.
pub struct Page;

impl Resource for Page {
    fn render_get(&self, _r: &mut Reactor, _request: &Request) -> Render {
        page("A page", "<p>A PAGE</p>").into()
    }
}

/// `/long`: writes `A`, `B`, `C` one `step` apart, then finishes (the
/// seeds' `NOT_DONE_YET` example). Timers are cancelled if the client
/// leaves.
pub struct Long {
    step: Duration,
}

impl Long {
    /// Writes one letter every `step`.
    pub fn new(step: Duration) -> Self {
        Long { step }
    }
}

impl Default for Long {
    fn default() -> Self {
        Long::new(Duration::from_secs(1))
    }
}

impl Resource for Long {
    fn render_get(&self, r: &mut Reactor, request: &Request) -> Render {
        request.set_header("Content-Type", "text/plain; charset=utf-8");
        request.write(r, b"A");
        let mut timers = Vec::new();
        for (i, letter) in [&b"B"[..], b"C"].into_iter().enumerate() {
            let req = request.clone();
            timers.push(r.call_later(self.step * (i as u32 + 1), move |r| req.write(r, letter)));
        }
        let req = request.clone();
        timers.push(r.call_later(self.step * 3, move |r| req.finish(r)));
        request.notify_finish().add_errback(r, move |r, failure| {
            log::info!("/long: {failure}; cancelling its timers");
            for timer in timers {
                let _ = timer.cancel(r);
            }
            Ok(())
        });
        Render::NotDoneYet
    }
}

/// Reads `num` from the query: 0 to [`MAX_FIB`].
fn num_arg(request: &Request) -> Result<u64, String> {
    let raw = request.arg("num").unwrap_or("");
    match raw.parse::<u64>() {
        Ok(n) if n <= MAX_FIB => Ok(n),
        _ => Err(format!(
            "num must be a whole number from 0 to {MAX_FIB}, not {raw:?}"
        )),
    }
}

fn bad_num(request: &Request, why: &str) -> Render {
    request.set_status(400);
    page("Bad request", &format!("<p>{}</p>", escape_html(why))).into()
}

fn fib_page(n: u64, value: &str, how: &str) -> String {
    page(
        &format!("fib({n})"),
        &format!(
            "<p>Computed {}.</p>\n<p id=\"value\" style=\"word-break: break-all\">{}</p>",
            escape_html(how),
            escape_html(value)
        ),
    )
}

/// `/fib?num=N`: fib(N) on the thread pool; the loop serves everyone else
/// meanwhile.
pub struct Fib;

impl Resource for Fib {
    fn render_get(&self, r: &mut Reactor, request: &Request) -> Render {
        let n = match num_arg(request) {
            Ok(n) => n,
            Err(why) => return bad_num(request, &why),
        };
        let work = defer_to_thread(r, move || fib(n));
        let (req, failed) = (request.clone(), request.clone());
        work.add_callbacks(
            r,
            move |r, value| {
                req.write(r, fib_page(n, &value, "on the thread pool").as_bytes());
                req.finish(r);
                Ok(value)
            },
            move |r, failure| {
                failed.set_status(500);
                failed.write(
                    r,
                    page("Error", &format!("<p>{}</p>", escape_html(&failure.to_string()))).as_bytes(),
                );
                failed.finish(r);
                Ok(String::new())
            },
        );
        // A client that leaves before the result: drop the job if it has not started.
        request.notify_finish().add_errback(r, move |r, _| {
            work.cancel(r);
            Ok(())
        });
        Render::NotDoneYet
    }
}

/// `/fib-blocking?num=N`: fib(N) right here, on the loop. Every other
/// connection waits meanwhile, and the reactor logs a slow-callback
/// warning: the stall the seeds warn about.
pub struct FibBlocking;

impl Resource for FibBlocking {
    fn render_get(&self, _r: &mut Reactor, request: &Request) -> Render {
        match num_arg(request) {
            Ok(n) => fib_page(n, &fib(n), "on the reactor's own thread, blocking it").into(),
            Err(why) => bad_num(request, &why),
        }
    }
}

/// `/form`: a form (GET) that POSTs back to itself and shows what it got.
pub struct Form;

impl Resource for Form {
    fn allowed_methods(&self) -> &[&'static str] {
        &["GET", "HEAD", "POST"]
    }

    fn render_get(&self, _r: &mut Reactor, _request: &Request) -> Render {
        page(
            "A form",
            "<form method=\"post\" action=\"/form\">\n<input type=\"text\" name=\"name\">\n<input type=\"submit\" value=\"Send\">\n</form>",
        )
        .into()
    }

    fn render_post(&self, _r: &mut Reactor, request: &Request) -> Render {
        let items: String = request
            .form()
            .iter()
            .map(|(k, v)| format!("<li>{} = {}</li>\n", escape_html(k), escape_html(v)))
            .collect();
        page("Form received", &format!("<ul id=\"fields\">\n{items}</ul>")).into()
    }
}
