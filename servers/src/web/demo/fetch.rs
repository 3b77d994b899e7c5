//! `/fetch?url=...`: the seeds' `web3b.py`: fetch a page with `get_page`
//! and stream it back as it arrives.

use torsion::{Failure, Reactor};
use torsion_clients::http::{BodySink, BodySource, FetchError, HttpClient, Response, Url};

use super::pages::page;
use crate::web::{escape_html, Producer, Render, Request, Resource};

/// Fetches `url` and relays status, content type and body, piece by
/// piece. A `url` that is not an http(s) URL is a 400 page, as the
/// forward proxy answers the same mistake: the client's, not the
/// origin's. A fetch that fails before anything was sent is a 502 page; one
/// that fails midway cuts the connection (the client sees a truncated
/// body). A client that leaves cancels the fetch. A client that reads
/// slower than the origin sends pauses the origin's connection (the
/// request's [`Producer`]), so a large page reaches a slow client in
/// bounded memory.
#[derive(Default)]
pub struct Fetch {
    client: HttpClient,
}

impl Fetch {
    /// A page fetching with `client` (its timeouts, limits, CA file).
    pub fn new(client: HttpClient) -> Self {
        Fetch { client }
    }
}

/// Relays the fetched response to the request.
struct Relay {
    request: Request,
}

/// The origin's connection, paused while the client is behind.
struct Origin(BodySource);

impl Producer for Origin {
    fn pause_producing(&mut self, reactor: &mut Reactor) {
        self.0.pause(reactor);
    }

    fn resume_producing(&mut self, reactor: &mut Reactor) {
        self.0.resume(reactor);
    }
}

impl BodySink for Relay {
    fn source(&mut self, reactor: &mut Reactor, source: BodySource) {
        self.request.register_producer(reactor, Origin(source));
    }

    fn head(&mut self, _reactor: &mut Reactor, response: &Response) {
        self.request.set_status(response.status);
        if let Some(kind) = response.header("content-type") {
            self.request.set_header("Content-Type", kind);
        }
    }

    fn data(&mut self, reactor: &mut Reactor, chunk: &[u8]) {
        self.request.write(reactor, chunk);
    }
}

impl Resource for Fetch {
    fn render_get(&self, r: &mut Reactor, request: &Request) -> Render {
        let Some(url) = request.arg("url").map(str::to_string) else {
            request.set_status(400);
            return page(
                "Bad request",
                "<p>Say which page to fetch: <code>/fetch?url=http://...</code></p>",
            )
            .into();
        };
        if let Err(e) = Url::parse(&url) {
            let reason = match e {
                FetchError::BadUrl { reason, .. } => reason,
                other => other.to_string(),
            };
            request.set_status(400);
            let why = format!(
                "<p>Not an http(s) URL: <code>{}</code> ({}).</p>",
                escape_html(&url),
                escape_html(&reason)
            );
            return page("Bad request", &why).into();
        }
        let fetch = self.client.get_streaming(
            r,
            &url,
            Relay {
                request: request.clone(),
            },
        );
        let req = request.clone();
        let _relayed = fetch.then_both(r, move |r, result| {
            match result {
                Ok(_) => req.finish(r),
                // The client left: the fetch was cancelled for it.
                Err(_) if req.is_abandoned() => {}
                Err(failure) => {
                    log::info!("/fetch {url}: {failure}");
                    if req.is_started() {
                        r.transport(req.connection()).abort_connection();
                    } else {
                        req.set_status(502);
                        let why = format!(
                            "<p>Fetching {} failed: {}</p>",
                            escape_html(&url),
                            escape_html(&failure.to_string())
                        );
                        req.write(r, page("Bad gateway", &why).as_bytes());
                        req.finish(r);
                    }
                }
            }
            Ok::<(), Failure>(())
        });
        request.notify_finish().add_errback(r, move |r, _| {
            fetch.cancel(r);
            Ok(())
        });
        Render::NotDoneYet
    }
}
