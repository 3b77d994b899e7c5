//! Small resources every site needs: fixed pages, redirects, and the
//! body of an error page.

use bytes::Bytes;
use torsion::Reactor;
use torsion_protocols::http::reason_phrase;

use super::{escape_html, Render, Request, Resource};

/// The HTML of an error page. `message` must already be escaped.
pub fn error_body(status: u16, message: &str) -> String {
    let title = format!("{status} {}", reason_phrase(status));
    format!(
        "<!DOCTYPE html>\n<html><head><title>{title}</title></head>\n<body><h1>{title}</h1>\n<p>{message}</p>\n</body></html>\n"
    )
}

/// A fixed page: the same bytes and content type every time.
///
/// ```
/// use torsion_servers::web::{Node, StaticPage};
///
/// let mut root = Node::new();
/// root.put_child("robots.txt", StaticPage::new("text/plain", "User-agent: *\n"));
/// ```
pub struct StaticPage {
    content_type: String,
    body: Bytes,
}

impl StaticPage {
    /// A page of `body` with this content type.
    pub fn new(content_type: &str, body: impl Into<Bytes>) -> Self {
        StaticPage {
            content_type: content_type.to_string(),
            body: body.into(),
        }
    }

    /// An HTML page with `title` (escaped here) and `html_body` (as given).
    pub fn html(title: &str, html_body: &str) -> Self {
        let body = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{html_body}\n</body></html>\n",
            escape_html(title)
        );
        Self::new("text/html; charset=utf-8", body)
    }
}

impl Resource for StaticPage {
    fn render_get(&self, _reactor: &mut Reactor, request: &Request) -> Render {
        request.set_header("Content-Type", &self.content_type);
        Render::Body(self.body.clone())
    }
}

/// Redirects to a fixed location (`302 Found` unless told otherwise).
///
/// ```
/// use torsion_servers::web::{Node, Redirect};
///
/// let mut root = Node::new();
/// root.put_child("old", Redirect::new("/new"));
/// root.put_child("gone", Redirect::with_status(301, "/new"));
/// ```
pub struct Redirect {
    status: u16,
    location: String,
}

impl Redirect {
    /// A `302 Found` to `location`.
    pub fn new(location: &str) -> Self {
        Self::with_status(302, location)
    }

    /// A redirect with this status (301, 302, 303, 307, 308).
    pub fn with_status(status: u16, location: &str) -> Self {
        Redirect {
            status,
            location: location.to_string(),
        }
    }
}

impl Resource for Redirect {
    fn allowed_methods(&self) -> &[&'static str] {
        &["GET", "HEAD", "POST", "PUT", "DELETE"]
    }

    fn render(&self, _reactor: &mut Reactor, request: &Request) -> Render {
        request.set_status(self.status);
        request.set_header("Location", &self.location);
        let href = escape_html(&self.location);
        Render::from(error_body(
            self.status,
            &format!("See <a href=\"{href}\">{href}</a>."),
        ))
    }
}
