//! torsion-fib over real sockets: one shared sequence, kept across restarts,
//! and a corrupt state file refused.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use torsion_tests::{binary, read_all, read_line, send, Scratch, Server, TIMEOUT};

fn start(state: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["-p", "0", "--state", state.to_str().unwrap()];
    args.extend_from_slice(extra);
    Server::start("torsion-fib", &args)
}

/// Asks for one number on `client`.
fn next(client: &mut std::net::TcpStream) -> String {
    send(client, b"next\r\n");
    let line = read_line(client);
    assert!(line.ends_with("\r\n"), "{line:?}");
    line.trim_end().to_string()
}

fn fibonacci_from_2(count: usize) -> Vec<String> {
    let (mut a, mut b) = (1u128, 1u128);
    (0..count)
        .map(|_| {
            (a, b) = (b, a + b);
            b.to_string()
        })
        .collect()
}

#[test]
fn two_clients_draw_different_numbers_in_order() {
    let dir = Scratch::new("two");
    let server = start(&dir.path("fib.state"), &[]);
    let mut first = server.connect();
    let mut second = server.connect();
    let mut served = Vec::new();
    for _ in 0..10 {
        served.push(next(&mut first));
        served.push(next(&mut second));
        served.push(next(&mut second));
    }
    // Together they got the sequence itself: no number twice, none skipped.
    assert_eq!(served, fibonacci_from_2(30));
}

#[test]
fn a_missing_state_starts_at_the_beginning_and_is_created() {
    let dir = Scratch::new("missing");
    let state = dir.path("fib.state");
    let server = start(&state, &[]);
    assert_eq!(fs::read_to_string(&state).unwrap(), "torsion-fib state 1\n1\n1\n");
    let mut client = server.connect();
    assert_eq!(next(&mut client), "2");
    assert_eq!(next(&mut client), "3");
}

#[test]
fn sigterm_saves_and_a_restart_continues_after_the_last_number() {
    let dir = Scratch::new("restart");
    let state = dir.path("fib.state");
    let mut server = start(&state, &[]);
    let mut client = server.connect();
    let before: Vec<String> = (0..50).map(|_| next(&mut client)).collect();
    server.signal(libc::SIGTERM);
    assert_eq!(read_all(&mut client), b"", "the client is closed cleanly");
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "stderr:\n{}", server.stderr());
    drop(server);

    let server = start(&state, &[]);
    let mut client = server.connect();
    let after: Vec<String> = (0..50).map(|_| next(&mut client)).collect();
    let all: Vec<String> = before.into_iter().chain(after).collect();
    assert_eq!(all, fibonacci_from_2(100));
}

/// `a + b` for decimal strings: an adder independent of the server's.
fn add_decimal(a: &str, b: &str) -> String {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let mut carry = 0;
    for i in 0..a.len().max(b.len()) {
        let digit = |s: &[u8]| if i < s.len() { s[s.len() - 1 - i] - b'0' } else { 0 };
        let sum = digit(a) + digit(b) + carry;
        out.push(b'0' + sum % 10);
        carry = sum / 10;
    }
    if carry > 0 {
        out.push(b'0' + carry);
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

#[test]
fn numbers_past_u128_are_served_whole() {
    let dir = Scratch::new("big");
    let server = start(&dir.path("fib.state"), &[]);
    let mut client = server.connect();
    send(&mut client, "\n".repeat(1000).as_bytes());
    let (mut a, mut b) = ("1".to_string(), "1".to_string());
    for _ in 0..1000 {
        let sum = add_decimal(&a, &b);
        (a, b) = (b, sum);
        assert_eq!(read_line(&mut client), format!("{b}\r\n"));
    }
    // The 1000th number served is F(1002): 210 digits, about 0.209 per index.
    assert_eq!(b.len(), 210);
}

#[test]
fn the_state_is_saved_periodically_so_a_crash_loses_little() {
    let dir = Scratch::new("periodic");
    let state = dir.path("fib.state");
    let server = start(&state, &["--save-interval", "0.05"]);
    let mut client = server.connect();
    let served: Vec<String> = (0..10).map(|_| next(&mut client)).collect();
    assert_eq!(served.last().map(String::as_str), Some("144"));
    let deadline = Instant::now() + TIMEOUT;
    while fs::read_to_string(&state).unwrap_or_default() != "torsion-fib state 1\n89\n144\n" {
        assert!(Instant::now() < deadline, "the state was not saved periodically");
        thread::sleep(Duration::from_millis(10));
    }
    // No clean shutdown at all: the periodic save is what survives.
    server.signal(libc::SIGKILL);
    drop(server);
    let server = start(&state, &[]);
    let mut client = server.connect();
    assert_eq!(next(&mut client), "233");
}

#[test]
fn a_corrupt_state_file_is_refused_named_and_left_untouched() {
    let dir = Scratch::new("corrupt");
    let state = dir.path("fib.state");
    let corrupt = "torsion-fib state 1\n89\n145\n";
    fs::write(&state, corrupt).unwrap();
    for content in [corrupt, "garbage\n", ""] {
        fs::write(&state, content).unwrap();
        let output = Command::new(binary("torsion-fib"))
            .args(["-p", "0", "--state", state.to_str().unwrap()])
            .env("RUST_LOG", "info")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "started with {content:?}");
        assert!(stderr.contains(state.to_str().unwrap()), "{stderr}");
        assert!(stderr.contains("corrupt"), "{stderr}");
        assert!(
            output.stdout.is_empty(),
            "it must not announce: {:?}",
            output.stdout
        );
        assert_eq!(
            fs::read_to_string(&state).unwrap(),
            content,
            "the file was changed"
        );
        // Nothing else appeared beside it either.
        assert_eq!(fs::read_dir(dir.dir()).unwrap().count(), 1);
    }
}

#[test]
fn a_send_without_a_newline_gets_a_number_as_in_the_seed() {
    let dir = Scratch::new("send");
    let server = start(&dir.path("fib.state"), &[]);
    let mut client = server.connect();
    // The seed's dataReceived: `x`, no line break, is a request.
    send(&mut client, b"x");
    assert_eq!(read_line(&mut client), "2\r\n");
    send(&mut client, b"NEW?");
    assert_eq!(read_line(&mut client), "3\r\n");
    // Lines are still a number each, and nothing waits for a newline.
    send(&mut client, b"next\nnext\n");
    assert_eq!(read_line(&mut client), "5\r\n");
    assert_eq!(read_line(&mut client), "8\r\n");
    // A long send without a line break is answered, not refused.
    send(&mut client, &[b'x'; 1000]);
    assert_eq!(read_line(&mut client), "13\r\n");
}
