//! torsion-multiclient against torsion-upper: the seeds' multiclient.py and
//! threadedclient.py output, sequentially and in parallel, and failures.

use std::process::{Command, Output};

use torsion_tests::{binary, free_port, output_within_timeout, Server};

const GREETING: &str = "Hi! Send me text to convert to uppercase\n";

/// Runs torsion-multiclient with `args`, failing the test after [`TIMEOUT`].
fn multiclient(args: &[&str]) -> Output {
    let mut command = Command::new(binary("torsion-multiclient"));
    command.args(args);
    output_within_timeout(command)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What the seeds' multiclient.py prints for `words` against the uppercase
/// server: "sending w", then the reply (greeting and the word uppercased,
/// as sent with \r\n), then the newline of Python's `print`.
fn seed_output(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("sending {w}\n{GREETING}{}\r\n\n", w.to_uppercase()))
        .collect()
}

#[test]
fn sequential_prints_what_the_seeds_multiclient_prints() {
    let server = Server::start("torsion-upper", &["-p", "0"]);
    let output = multiclient(&[server.addr(), "a", "b", "c", "d"]);
    assert!(output.status.success(), "stderr:\n{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), seed_output(&["a", "b", "c", "d"]));
    assert_eq!(text(&output.stderr), "");
}

#[test]
fn parallel_prints_the_same_in_argument_order_then_finished() {
    let server = Server::start("torsion-upper", &["-p", "0"]);
    let words: Vec<String> = (0..40).map(|i| format!("word{i}")).collect();
    let mut args = vec![server.addr(), "--parallel"];
    args.extend(words.iter().map(String::as_str));
    let output = multiclient(&args);
    assert!(output.status.success(), "stderr:\n{}", text(&output.stderr));
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    assert_eq!(text(&output.stdout), seed_output(&words) + "finished\n");
}

#[test]
fn parallel_runs_every_exchange_at_once_even_when_they_fail() {
    // --keep-open: the server never closes, so every exchange times out. A
    // sequential run would stop at the first; a parallel one has them all
    // in flight together and reports each.
    let server = Server::start("torsion-upper", &["-p", "0", "--keep-open"]);
    let output = multiclient(&[
        server.addr(),
        "--parallel",
        "--timeout",
        "0.5",
        "a",
        "b",
        "c",
        "d",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert_eq!(
        stderr.matches("no complete reply after 0.5 s").count(),
        4,
        "{stderr}"
    );
    assert_eq!(
        text(&output.stdout),
        "sending a\nsending b\nsending c\nsending d\nfinished\n"
    );
}

#[test]
fn a_refused_connection_fails_with_the_reason() {
    let addr = format!("127.0.0.1:{}", free_port());
    let output = multiclient(&[&addr, "a", "b"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("connection refused"), "{stderr}");
    assert!(stderr.contains("1 word(s) not sent"), "{stderr}");
    // As the seed's client, it stops at the first failure.
    assert_eq!(text(&output.stdout), "sending a\n");
}

#[test]
fn a_server_that_never_closes_times_out() {
    let server = Server::start("torsion-upper", &["-p", "0", "--keep-open"]);
    let output = multiclient(&[server.addr(), "--timeout", "0.2", "a"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("no complete reply"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_missing_port_is_named_not_a_failure_to_resolve() {
    // The seeds' `multiclient.py localhost a`: the port is what is missing.
    for (server, says) in [
        ("localhost", "localhost: the port is missing (give HOST:PORT)"),
        ("[::1]", "[::1]: the port is missing (give [ADDRESS]:PORT)"),
        (
            "localhost:http",
            "localhost:http: not HOST:PORT (the port is not a number)",
        ),
        ("::1:8000", "::1:8000: an IPv6 address goes in brackets"),
    ] {
        let output = multiclient(&[server, "a"]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{server}: {stderr}");
        assert!(stderr.contains(says), "{server}: {stderr}");
        assert!(!stderr.contains("invalid socket address"), "{server}: {stderr}");
        assert!(output.stdout.is_empty(), "{server}: nothing was sent");
    }
}
