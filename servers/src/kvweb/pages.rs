//! The pages: the index with its three forms, and the result pages of
//! `/get`, `/set` and `/delete` (the seeds' `keyvalue_web.py`).

use std::rc::Rc;

use torsion::{Failure, Reactor};
use torsion_protocols::http::percent_encode;

use super::{Backend, Health, Problem};
use crate::web::{escape_html, Render, Request, Resource};

/// The Content-Security-Policy of every page: no scripts, styles, frames
/// or plugins at all, forms only to this site. Escaping is what keeps a
/// stored `<script>` from running; this is the second lock on the door.
pub const PAGE_POLICY: &str =
    "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// An HTML page titled `title` (escaped here) around `body` (HTML, escaped
/// by the caller where it holds text from elsewhere).
pub(crate) fn html_page(title: &str, body: &str, back_link: bool) -> String {
    let title = escape_html(title);
    let back = if back_link {
        "<p><a id=\"back\" href=\"/\">Back to the forms</a></p>\n"
    } else {
        ""
    };
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n{body}\n{back}</body></html>\n"
    )
}

/// The headers every page and every API answer carries: not cached (the
/// values change), never sniffed as another type, and (pages) the policy.
pub(crate) fn common_headers(request: &Request, content_type: Option<&str>) {
    if let Some(content_type) = content_type {
        request.set_header("Content-Type", content_type);
        if content_type.starts_with("text/html") {
            request.set_header("Content-Security-Policy", PAGE_POLICY);
        }
    }
    request.set_header("Cache-Control", "no-store");
    request.set_header("X-Content-Type-Options", "nosniff");
}

/// Answers `request` now or later with a whole body: its status, the
/// common headers, a Content-Length, then the end. Does nothing if the
/// client left.
pub(crate) fn answer(reactor: &mut Reactor, request: &Request, status: u16, content_type: &str, body: &[u8]) {
    request.set_status(status);
    let no_body = status == 204 || status == 304;
    common_headers(request, (!no_body).then_some(content_type));
    if !no_body {
        request.set_header("Content-Length", &body.len().to_string());
        request.write(reactor, body);
    }
    request.finish(reactor);
}

/// Answers with an HTML page.
fn answer_page(reactor: &mut Reactor, request: &Request, status: u16, page: &str) {
    answer(
        reactor,
        request,
        status,
        "text/html; charset=utf-8",
        page.as_bytes(),
    );
}

/// Answers with the page of `problem`.
fn answer_problem(reactor: &mut Reactor, request: &Request, problem: &Problem) {
    let page = html_page(
        problem.title(),
        &format!("<p id=\"error\">{}</p>", escape_html(&problem.message)),
        true,
    );
    answer_page(reactor, request, problem.status, &page);
}

/// The page for a failed call on `key`.
fn answer_failure(reactor: &mut Reactor, request: &Request, failure: &Failure, key: &str) {
    let problem = Problem::from_failure(failure, key);
    if problem.status >= 500 {
        log::warn!("{} {}: {}", request.method(), request.uri(), problem.message);
    }
    answer_problem(reactor, request, &problem);
}

/// A field of the form in the body of a POST (never the query string:
/// mutations come in the body).
fn form_field<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .form()
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The key a form sent, or the 400 page saying it is missing.
fn required_key(key: Option<&str>) -> Result<&str, Problem> {
    match key {
        Some(key) if !key.is_empty() => Ok(key),
        _ => Err(Problem::bad_request("Give a key: the Key field was empty.")),
    }
}

/// Shows a value as text: bytes that are not UTF-8 become U+FFFD.
fn shown(value: &[u8]) -> String {
    escape_html(&String::from_utf8_lossy(value))
}

/// `/`: the three forms (get by GET, set and delete by POST), and whether
/// the store can be reached.
pub struct Index {
    backend: Rc<dyn Backend>,
}

impl Index {
    /// The index of pages over `backend`.
    pub fn new(backend: Rc<dyn Backend>) -> Self {
        Index { backend }
    }
}

/// The forms, as on the index. Field ids let a browser test fill them.
const FORMS: &str = r#"<form id="get" method="get" action="/get">
<h2>Get</h2>
<label>Key: <input type="text" name="key" id="get-key" required></label>
<button type="submit" id="get-submit">Get</button>
</form>
<form id="set" method="post" action="/set">
<h2>Set</h2>
<label>Key: <input type="text" name="key" id="set-key" required></label>
<label>Value: <input type="text" name="value" id="set-value"></label>
<button type="submit" id="set-submit">Set</button>
</form>
<form id="delete" method="post" action="/delete">
<h2>Delete</h2>
<label>Key: <input type="text" name="key" id="delete-key" required></label>
<button type="submit" id="delete-submit">Delete</button>
</form>
<h2>For scripts</h2>
<p>JSON at <code>/api/keys/&lt;key&gt;</code>: <code>GET</code> reads the value, <code>PUT</code> sets it to the request's body, <code>DELETE</code> deletes it.</p>"#;

impl Resource for Index {
    fn render_get(&self, reactor: &mut Reactor, request: &Request) -> Render {
        let name = escape_html(&self.backend.name());
        let status = match self.backend.health() {
            Health::Connected => format!("<p id=\"status\" class=\"connected\">Connected to {name}.</p>"),
            Health::Connecting => format!("<p id=\"status\" class=\"connecting\">Connecting to {name}&hellip;</p>"),
            Health::Unreachable => format!(
                "<p id=\"status\" class=\"unreachable\"><strong>{name} is unreachable</strong>: the forms will say so until it is back (kvweb keeps trying).</p>"
            ),
        };
        let page = html_page("Torsion key-value store", &format!("{status}\n{FORMS}"), false);
        answer_page(reactor, request, 200, &page);
        Render::NotDoneYet
    }
}

/// `/get?key=K` (GET, the seeds' `GetPage`): the value, or why not.
pub struct GetPage {
    backend: Rc<dyn Backend>,
}

impl GetPage {
    /// The get page over `backend`.
    pub fn new(backend: Rc<dyn Backend>) -> Self {
        GetPage { backend }
    }
}

impl Resource for GetPage {
    fn render_get(&self, reactor: &mut Reactor, request: &Request) -> Render {
        let key = match required_key(request.arg("key")) {
            Ok(key) => key.to_string(),
            Err(problem) => {
                answer_problem(reactor, request, &problem);
                return Render::NotDoneYet;
            }
        };
        let req = request.clone();
        let _answered = self
            .backend
            .get(reactor, key.as_bytes())
            .then_both(reactor, move |r, result| {
                match result {
                    Ok(value) => {
                        let body = format!(
                            "<p>The value of <code id=\"key\">{}</code>:</p>\n<pre id=\"value\">{}</pre>",
                            escape_html(&key),
                            shown(&value)
                        );
                        answer_page(r, &req, 200, &html_page(&format!("Value of {key}"), &body, true));
                    }
                    Err(failure) => answer_failure(r, &req, &failure, &key),
                }
                Ok(())
            });
        Render::NotDoneYet
    }
}

/// `/set` (POST, fields `key` and `value`): stores the value and shows it.
pub struct SetPage {
    backend: Rc<dyn Backend>,
}

impl SetPage {
    /// The set page over `backend`.
    pub fn new(backend: Rc<dyn Backend>) -> Self {
        SetPage { backend }
    }
}

impl Resource for SetPage {
    fn allowed_methods(&self) -> &[&'static str] {
        &["POST"]
    }

    fn render_post(&self, reactor: &mut Reactor, request: &Request) -> Render {
        let key = match required_key(form_field(request, "key")) {
            Ok(key) => key.to_string(),
            Err(problem) => {
                answer_problem(reactor, request, &problem);
                return Render::NotDoneYet;
            }
        };
        let Some(value) = form_field(request, "value").map(str::to_string) else {
            let problem =
                Problem::bad_request("Give a value: the form had no Value field (an empty one is fine).");
            answer_problem(reactor, request, &problem);
            return Render::NotDoneYet;
        };
        let req = request.clone();
        let _answered = self
            .backend
            .set(reactor, key.as_bytes(), value.as_bytes())
            .then_both(reactor, move |r, result| {
                match result {
                    Ok(()) => {
                        let body = format!(
                            "<p id=\"message\">Stored <code id=\"key\">{}</code>:</p>\n<pre id=\"value\">{}</pre>\n<p><a href=\"/get?key={}\">Read it back</a></p>",
                            escape_html(&key),
                            escape_html(&value),
                            escape_html(&percent_encode(&key))
                        );
                        answer_page(r, &req, 200, &html_page("Stored", &body, true));
                    }
                    Err(failure) => answer_failure(r, &req, &failure, &key),
                }
                Ok(())
            });
        Render::NotDoneYet
    }
}

/// `/delete` (POST, field `key`): deletes the key, or says it was not there.
pub struct DeletePage {
    backend: Rc<dyn Backend>,
}

impl DeletePage {
    /// The delete page over `backend`.
    pub fn new(backend: Rc<dyn Backend>) -> Self {
        DeletePage { backend }
    }
}

impl Resource for DeletePage {
    fn allowed_methods(&self) -> &[&'static str] {
        &["POST"]
    }

    fn render_post(&self, reactor: &mut Reactor, request: &Request) -> Render {
        let key = match required_key(form_field(request, "key")) {
            Ok(key) => key.to_string(),
            Err(problem) => {
                answer_problem(reactor, request, &problem);
                return Render::NotDoneYet;
            }
        };
        let req = request.clone();
        let _answered = self
            .backend
            .delete(reactor, key.as_bytes())
            .then_both(reactor, move |r, result| {
                match result {
                    Ok(()) => {
                        let body = format!(
                            "<p id=\"message\">Deleted <code id=\"key\">{}</code>.</p>",
                            escape_html(&key)
                        );
                        answer_page(r, &req, 200, &html_page("Deleted", &body, true));
                    }
                    Err(failure) => answer_failure(r, &req, &failure, &key),
                }
                Ok(())
            });
        Render::NotDoneYet
    }
}
