//! [`Resource`]: what answers a URL; [`Node`]: a resource with children;
//! [`Render`]: what a render method returns.

use std::collections::HashMap;
use std::rc::Rc;

use bytes::Bytes;
use torsion::Reactor;

use super::Request;

/// What a render method returns (Twisted returns bytes or `NOT_DONE_YET`).
#[derive(Clone, Debug)]
pub enum Render {
    /// The whole body, now: sent with a Content-Length.
    Body(Bytes),
    /// The resource answers later, through [`Request::write`] and
    /// [`Request::finish`] (the seeds' `NOT_DONE_YET`). Writes before the
    /// finish go out as chunks, each as soon as it is written.
    NotDoneYet,
    /// This resource does not answer this method: the site sends 405 with
    /// an `Allow` header from [`Resource::allowed_methods`].
    NotAllowed,
}

impl Render {
    /// A whole body.
    pub fn body(body: impl Into<Bytes>) -> Self {
        Render::Body(body.into())
    }
}

impl From<&'static str> for Render {
    fn from(body: &'static str) -> Self {
        Render::Body(Bytes::from_static(body.as_bytes()))
    }
}

impl From<String> for Render {
    fn from(body: String) -> Self {
        Render::Body(Bytes::from(body))
    }
}

impl From<Vec<u8>> for Render {
    fn from(body: Vec<u8>) -> Self {
        Render::Body(Bytes::from(body))
    }
}

/// Something that answers requests for a URL, Twisted's `Resource`.
///
/// Write the `render_*` methods for the methods it answers, and list them
/// in [`allowed_methods`](Resource::allowed_methods) if they go beyond GET
/// (and HEAD, which is GET without the body). Everything has a default, so
/// a page is a `render_get`:
///
/// ```
/// use torsion::Reactor;
/// use torsion_servers::web::{Render, Request, Resource};
///
/// struct Hello;
///
/// impl Resource for Hello {
///     fn render_get(&self, _r: &mut Reactor, _request: &Request) -> Render {
///         "HELLO".into()
///     }
/// }
/// ```
///
/// Render methods take `&self`: a resource is shared by every request (and
/// may sit at several places in the tree); keep per-request state in the
/// closures a `NOT_DONE_YET` answer schedules, and shared state in a
/// `Cell` or `RefCell`.
pub trait Resource: 'static {
    /// The child called `segment` (one path segment, percent-decoded), if
    /// any. The default has none: a longer path is a 404.
    fn get_child(&self, segment: &str, request: &Request) -> Option<Rc<dyn Resource>> {
        let _ = (segment, request);
        None
    }

    /// Whether this resource answers every path below it itself (the rest
    /// of the path is [`Request::postpath`]).
    fn is_leaf(&self) -> bool {
        false
    }

    /// The methods this resource answers; others get 405 with this list in
    /// `Allow`, without a render method being called.
    fn allowed_methods(&self) -> &[&'static str] {
        &["GET", "HEAD"]
    }

    /// Answers `request`. The default calls the `render_*` method of the
    /// request's method (HEAD calls `render_get`; the body is not sent).
    fn render(&self, reactor: &mut Reactor, request: &Request) -> Render {
        match request.method() {
            "GET" | "HEAD" => self.render_get(reactor, request),
            "POST" => self.render_post(reactor, request),
            "PUT" => self.render_put(reactor, request),
            "DELETE" => self.render_delete(reactor, request),
            _ => Render::NotAllowed,
        }
    }

    /// Answers GET (and HEAD).
    fn render_get(&self, reactor: &mut Reactor, request: &Request) -> Render {
        let _ = (reactor, request);
        Render::NotAllowed
    }

    /// Answers POST.
    fn render_post(&self, reactor: &mut Reactor, request: &Request) -> Render {
        let _ = (reactor, request);
        Render::NotAllowed
    }

    /// Answers PUT.
    fn render_put(&self, reactor: &mut Reactor, request: &Request) -> Render {
        let _ = (reactor, request);
        Render::NotAllowed
    }

    /// Answers DELETE.
    fn render_delete(&self, reactor: &mut Reactor, request: &Request) -> Render {
        let _ = (reactor, request);
        Render::NotAllowed
    }
}

/// A resource with named children, and optionally a page of its own
/// (Twisted's plain `Resource()` with `putChild`).
///
/// # Examples
///
/// The seeds' `web2.py`:
///
/// ```
/// use torsion::Reactor;
/// use torsion_servers::web::{Node, Render, Request, Resource, Site};
///
/// struct Index;
/// impl Resource for Index {
///     fn render_get(&self, _r: &mut Reactor, _req: &Request) -> Render {
///         "HELLO".into()
///     }
/// }
/// struct Page;
/// impl Resource for Page {
///     fn render_get(&self, _r: &mut Reactor, _req: &Request) -> Render {
///         "A PAGE".into()
///     }
/// }
///
/// let mut root = Node::new();
/// root.put_child("", Index);      // "/"
/// root.put_child("page", Page);   // "/page"
/// let site = Site::new(root);
/// # let _ = site;
/// ```
#[derive(Default)]
pub struct Node {
    page: Option<Box<dyn Resource>>,
    children: HashMap<String, Rc<dyn Resource>>,
}

impl Node {
    /// A node with no page and no children (a 404 until children are put).
    pub fn new() -> Self {
        Self::default()
    }

    /// A node that renders with `page` when its own path is asked for.
    pub fn with_page(page: impl Resource) -> Self {
        Node {
            page: Some(Box::new(page)),
            children: HashMap::new(),
        }
    }

    /// Puts `child` at `segment` below this node (`""` is the path ending
    /// in `/`), replacing any child there.
    pub fn put_child(&mut self, segment: &str, child: impl Resource) -> &mut Self {
        self.put_child_rc(segment, Rc::new(child))
    }

    /// Puts a shared resource at `segment`.
    pub fn put_child_rc(&mut self, segment: &str, child: Rc<dyn Resource>) -> &mut Self {
        self.children.insert(segment.to_string(), child);
        self
    }

    /// The child at `segment`, if any.
    pub fn child(&self, segment: &str) -> Option<&Rc<dyn Resource>> {
        self.children.get(segment)
    }
}

impl Resource for Node {
    fn get_child(&self, segment: &str, request: &Request) -> Option<Rc<dyn Resource>> {
        match self.children.get(segment) {
            Some(child) => Some(child.clone()),
            None => self
                .page
                .as_ref()
                .and_then(|page| page.get_child(segment, request)),
        }
    }

    fn allowed_methods(&self) -> &[&'static str] {
        match &self.page {
            Some(page) => page.allowed_methods(),
            None => &["GET", "HEAD"],
        }
    }

    fn render(&self, reactor: &mut Reactor, request: &Request) -> Render {
        match &self.page {
            Some(page) => page.render(reactor, request),
            None => {
                request.set_status(404);
                request.set_header("Content-Type", "text/html; charset=utf-8");
                Render::from(super::pages::error_body(404, "No such resource."))
            }
        }
    }
}
