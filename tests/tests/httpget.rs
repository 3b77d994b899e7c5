//! torsion-httpget as shipped, against torsion-web-demo: the seeds'
//! `host:port path` form with or without the path's `/`, and an HTTP error
//! status failing as `curl --fail` does unless `--no-fail`.

use std::process::{Command, Output};

use torsion_tests::{binary, Server};

fn httpget(args: &[&str]) -> Output {
    Command::new(binary("torsion-httpget"))
        .args(args)
        .output()
        .expect("run torsion-httpget")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_path_without_its_slash_is_the_same_path() {
    let server = Server::start("torsion-web-demo", &["-p", "0"]);
    for path in ["page", "/page"] {
        let out = httpget(&[server.addr(), path]);
        assert!(out.status.success(), "{path}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("A PAGE"),
            "{path}: {}",
            text(&out.stdout)
        );
    }
}

#[test]
fn an_error_status_fails_like_curl_fail_unless_told_otherwise() {
    let server = Server::start("torsion-web-demo", &["-p", "0"]);
    let url = format!("http://{}/nowhere", server.addr());
    for args in [&[url.as_str()][..], &["-i", url.as_str()]] {
        let out = httpget(args);
        assert_eq!(out.status.code(), Some(22), "{args:?}");
        assert!(
            out.stdout.is_empty(),
            "an error page is not the page: {}",
            text(&out.stdout)
        );
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("{url}: the server answered 404 Not Found")),
            "{stderr}"
        );
    }
    // --no-fail: the page as it came, and success.
    let out = httpget(&["--no-fail", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("No resource at /nowhere."),
        "{}",
        text(&out.stdout)
    );
}
