//! The seeds' Deferred examples, with local stand-ins for getPage.

mod util;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use torsion::defer::{succeed, Step};
use torsion::testing::StringTransport;
use torsion::{Ctx, Deferred, Failure, Protocol, Reactor};

/// The stand-in for `getPage`: a Deferred the test fires by hand.
fn get_page() -> Deferred<String> {
    Deferred::new()
}

fn find_doodle_text(html: &str) -> Result<String, Failure> {
    let start = html.find("<doodle>").ok_or_else(|| Failure::msg("no doodle"))? + "<doodle>".len();
    let end = html[start..]
        .find("</doodle>")
        .ok_or_else(|| Failure::msg("no doodle"))?;
    Ok(html[start..start + end].to_string())
}

/// Version 1: one callback that catches its own error, one errback for the fetch.
fn doodle_v1(r: &mut Reactor, page: &Deferred<String>, printed: Rc<RefCell<Vec<String>>>) {
    page.add_callbacks(
        r,
        |_, html| Ok(find_doodle_text(&html).unwrap_or_else(|_| "ERROR: No doodle found".into())),
        |_, _e| Ok("ERROR: Google down".to_string()),
    )
    .add_callback(r, move |_, result| {
        printed.borrow_mut().push(result.clone());
        Ok(result)
    });
}

/// Version 2: find_doodle_text may fail; a separate errback catches that,
/// and does not run when the page fetch itself failed (on_google_down recovered).
fn doodle_v2(r: &mut Reactor, page: &Deferred<String>, printed: Rc<RefCell<Vec<String>>>) {
    page.add_callbacks(
        r,
        |_, html| find_doodle_text(&html),
        |_, _e| Ok("ERROR: Google down".to_string()),
    )
    .add_errback(r, |_, _e| Ok("ERROR: No doodle found".to_string()))
    .add_callback(r, move |_, result| {
        printed.borrow_mut().push(result.clone());
        Ok(result)
    });
}

#[test]
fn the_google_doodle_errback_example_behaves_as_the_seeds_describe() {
    type Version = fn(&mut Reactor, &Deferred<String>, Rc<RefCell<Vec<String>>>);
    for version in [doodle_v1 as Version, doodle_v2 as Version] {
        let mut r = Reactor::new().unwrap();
        let printed = Rc::new(RefCell::new(Vec::new()));
        let cases: [(Result<&str, &str>, &str); 3] = [
            (
                Ok("<html><doodle>Happy birthday</doodle></html>"),
                "Happy birthday",
            ),
            (Ok("<html>no art today</html>"), "ERROR: No doodle found"),
            (Err("connection refused"), "ERROR: Google down"),
        ];
        for (page, expected) in cases {
            let d = get_page();
            version(&mut r, &d, printed.clone());
            match page {
                Ok(html) => d.callback(&mut r, html.to_string()).unwrap(),
                Err(e) => d.errback(&mut r, Failure::msg(e)).unwrap(),
            }
            assert_eq!(printed.borrow().last().map(String::as_str), Some(expected));
        }
    }
}

/// Fetches in flight: the URL and the Deferred the test fires.
type Fetches = Rc<RefCell<Vec<(String, Deferred<String>)>>>;

/// The seeds' caching proxy (v2): `get_cached_page` returns `succeed(data)`
/// from the cache, or a fetch with a store-in-cache callback.
struct CachingProxy {
    cache: Rc<RefCell<HashMap<String, String>>>,
    fetches: Fetches,
}

impl CachingProxy {
    fn get_cached_page(&self, r: &mut Reactor, url: &str) -> Deferred<String> {
        if let Some(data) = self.cache.borrow().get(url) {
            return succeed(data.clone());
        }
        let d = get_page();
        self.fetches.borrow_mut().push((url.to_string(), d.clone()));
        let (cache, url) = (self.cache.clone(), url.to_string());
        d.add_callback(r, move |_, data| {
            cache.borrow_mut().insert(url, data.clone());
            Ok(data)
        });
        d
    }
}

impl Protocol for CachingProxy {
    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        let line = String::from_utf8_lossy(data).trim().to_string();
        if !line.starts_with("http://") {
            return;
        }
        let id = ctx.id();
        self.get_cached_page(ctx, &line)
            .add_callback(ctx, move |r, data| {
                let mut t = r.transport(id);
                t.write(data.as_bytes());
                t.lose_connection();
                Ok(data)
            });
    }
}

#[test]
fn the_caching_proxy_answers_from_its_cache_with_succeed() {
    let cache = Rc::new(RefCell::new(HashMap::new()));
    let fetches = Rc::new(RefCell::new(Vec::new()));
    let proxy = |cache: &Rc<RefCell<HashMap<String, String>>>| CachingProxy {
        cache: cache.clone(),
        fetches: fetches.clone(),
    };

    // First request: nothing is written until the page arrives.
    let mut first = StringTransport::new(proxy(&cache));
    first.receive(b"http://orestis.gr\r\n");
    assert_eq!(first.value(), b"");
    let (url, page) = fetches.borrow_mut().pop().expect("one fetch");
    assert_eq!(url, "http://orestis.gr");
    page.callback(first.reactor(), "<html>orestis</html>".into())
        .unwrap();
    first.pump();
    assert_eq!(first.text(), "<html>orestis</html>");
    assert!(first.disconnected());

    // Second request: answered from the cache at once, no fetch.
    let mut second = StringTransport::new(proxy(&cache));
    second.receive(b"http://orestis.gr\r\n");
    assert_eq!(second.text(), "<html>orestis</html>");
    assert!(fetches.borrow().is_empty());
}

#[test]
fn a_callback_may_return_a_value_or_a_deferred_as_the_seeds_redirect_does() {
    let mut r = Reactor::new().unwrap();
    let redirected = get_page();
    let target = redirected.clone();
    let d = get_page();
    let out = Rc::new(RefCell::new(String::new()));
    let o = out.clone();
    d.add_callback(&mut r, move |_, data| {
        if data.starts_with("304") {
            Step::Wait(target) // getPage(newURL)
        } else {
            Step::Done(Ok(data))
        }
    })
    .add_callback(&mut r, |_, s| Ok(s.to_uppercase()))
    .add_callback(&mut r, move |_, s| {
        *o.borrow_mut() = s.clone();
        Ok(s)
    });
    d.callback(&mut r, "304: google.it".into()).unwrap();
    assert_eq!(*out.borrow(), "");
    redirected.callback(&mut r, "google search".into()).unwrap();
    assert_eq!(*out.borrow(), "GOOGLE SEARCH");
}
