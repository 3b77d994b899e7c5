//! [`Api`]: the JSON API beside the pages, for scripts.

use std::rc::Rc;

use torsion::defer::Step;
use torsion::{Failure, Reactor};
use torsion_protocols::http::percent_encode;

use super::pages::answer;
use super::{json_object, Backend, Problem};
use crate::web::{Render, Request, Resource};

const JSON: &str = "application/json";

/// The methods `/api/keys/<key>` answers, for `Allow`.
const ALLOW: &str = "GET, HEAD, PUT, DELETE";

/// `/api/...`: `/api/keys/<key>` answers GET, PUT and DELETE in JSON.
///
/// | request | answer |
/// | --- | --- |
/// | `GET /api/keys/<key>` | `200 {"key":"k","value":"v"}` |
/// | `PUT /api/keys/<key>` with the value as the body | `201` (the key was not there) or `200` (it was), `{"key":"k","value":"v"}` |
/// | `DELETE /api/keys/<key>` | `204`, no body |
///
/// Failures are JSON too, `{"error":"a sentence","key":"k"}`: 404 for a
/// key that is not there, 400 for bad input (no key, a key or value the
/// store refuses, a body that is not UTF-8), 405 for other methods, 503
/// when torsion-kv is unreachable, 504 when it is too slow, 502 when it
/// fails. The key is the rest of the path, percent-decoded (`/api/keys/a%20b`
/// is `a b`; `/api/keys/a/b` is `a/b`).
///
/// A PUT sends a `get` just before its `set`, pipelined on the same
/// connection, to tell 201 from 200: the answer is exact unless another
/// client of torsion-kv sets or deletes the key between the two.
pub struct Api {
    backend: Rc<dyn Backend>,
}

impl Api {
    /// The API over `backend`.
    pub fn new(backend: Rc<dyn Backend>) -> Self {
        Api { backend }
    }
}

/// Answers with a JSON body.
fn answer_json(reactor: &mut Reactor, request: &Request, status: u16, body: &str) {
    answer(reactor, request, status, JSON, body.as_bytes());
}

/// Answers with the JSON error of `problem` (about `key`, if any).
fn answer_problem(reactor: &mut Reactor, request: &Request, problem: &Problem, key: Option<&str>) {
    let mut fields = vec![("error", problem.message.as_str())];
    fields.extend(key.map(|key| ("key", key)));
    answer_json(reactor, request, problem.status, &json_object(&fields));
}

fn answer_failure(reactor: &mut Reactor, request: &Request, failure: &Failure, key: &str) {
    let problem = Problem::from_failure(failure, key);
    if problem.status >= 500 {
        log::warn!("{} {}: {}", request.method(), request.uri(), problem.message);
    }
    answer_problem(reactor, request, &problem, Some(key));
}

impl Resource for Api {
    fn is_leaf(&self) -> bool {
        true
    }

    /// Every method the API explains in JSON: those it answers, and the
    /// usual others (answered 405 with a JSON body; any other method gets
    /// the site's HTML 405).
    fn allowed_methods(&self) -> &[&'static str] {
        &["GET", "HEAD", "PUT", "DELETE", "POST", "PATCH", "OPTIONS"]
    }

    fn render(&self, reactor: &mut Reactor, request: &Request) -> Render {
        let path = request.postpath();
        let key = match path.split_first() {
            Some((first, rest)) if first == "keys" && !rest.is_empty() => rest.join("/"),
            _ => {
                let problem = Problem {
                    status: 404,
                    message: "No such resource: the API is /api/keys/<key>.".into(),
                };
                answer_problem(reactor, request, &problem, None);
                return Render::NotDoneYet;
            }
        };
        if key.is_empty() {
            let problem = Problem::bad_request("Give a key: /api/keys/<key>.");
            answer_problem(reactor, request, &problem, None);
            return Render::NotDoneYet;
        }
        match request.method() {
            "GET" | "HEAD" => self.get(reactor, request, key),
            "PUT" => self.put(reactor, request, key),
            "DELETE" => self.delete(reactor, request, key),
            method => {
                request.set_header("Allow", ALLOW);
                let problem = Problem {
                    status: 405,
                    message: format!("{method} is not allowed here: use GET, PUT or DELETE."),
                };
                answer_problem(reactor, request, &problem, Some(&key));
            }
        }
        Render::NotDoneYet
    }
}

impl Api {
    fn get(&self, reactor: &mut Reactor, request: &Request, key: String) {
        let req = request.clone();
        let _answered = self
            .backend
            .get(reactor, key.as_bytes())
            .then_both(reactor, move |r, result| {
                match result {
                    Ok(value) => {
                        let value = String::from_utf8_lossy(&value);
                        answer_json(r, &req, 200, &json_object(&[("key", &key), ("value", &value)]));
                    }
                    Err(failure) => answer_failure(r, &req, &failure, &key),
                }
                Ok(())
            });
    }

    fn put(&self, reactor: &mut Reactor, request: &Request, key: String) {
        let Ok(value) = std::str::from_utf8(request.body()).map(str::to_string) else {
            let problem = Problem::bad_request("The value (the request's body) must be UTF-8 text.");
            answer_problem(reactor, request, &problem, Some(&key));
            return;
        };
        // Was it there? Asked just before the set, on the same connection.
        let existed = self
            .backend
            .get(reactor, key.as_bytes())
            // Not found: false. Any other failure: unknown, and the set's
            // own outcome decides the answer.
            .then_both(reactor, |_, result| Ok(result.is_ok()));
        let req = request.clone();
        let _answered = self
            .backend
            .set(reactor, key.as_bytes(), value.as_bytes())
            .then_both(reactor, move |r, result| {
                if let Err(failure) = result {
                    answer_failure(r, &req, &failure, &key);
                    return Step::Done(Ok(()));
                }
                Step::Wait(existed.then(r, move |r, existed| {
                    let status = if existed {
                        200
                    } else {
                        req.set_header("Location", &format!("/api/keys/{}", percent_encode(&key)));
                        201
                    };
                    answer_json(r, &req, status, &json_object(&[("key", &key), ("value", &value)]));
                    Ok(())
                }))
            });
    }

    fn delete(&self, reactor: &mut Reactor, request: &Request, key: String) {
        let req = request.clone();
        let _answered = self
            .backend
            .delete(reactor, key.as_bytes())
            .then_both(reactor, move |r, result| {
                match result {
                    Ok(()) => answer(r, &req, 204, JSON, b""),
                    Err(failure) => answer_failure(r, &req, &failure, &key),
                }
                Ok(())
            });
    }
}
