//! Perspective Broker against Twisted itself (issue 18): the seeds'
//! `RemoteKeyValue` on Twisted's `PBClientFactory` against torsion-kv, and
//! torsion-kvc and torsion-kvweb against the seeds' `keyvalue_pb.py` on
//! Twisted's `PBServerFactory`, with `str` and `bytes` keys and values.
//! Every Python program is bounded in time, every port chosen by the
//! system.

use std::path::PathBuf;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use torsion::endpoint::ClientEndpoint;
use torsion::{Deferred, Failure, Reactor};
use torsion_clients::kv::{self, KeyNotFound, KeyValue, Strings};
use torsion_tests::{run, run_bounded, Ran, Server};

use super::http_util::{Conn, Resp};

/// The longest any Python program may run.
const PYTHON_WAIT: Duration = Duration::from_secs(60);

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python(script: &str, args: &[&str]) -> Ran {
    let mut command = Command::new("python3");
    command.arg(workspace().join(script)).args(args);
    run_bounded(command, PYTHON_WAIT)
}

/// The seeds' `keyvalue_pb.py` on a port the system chooses.
fn keyvalue_pb() -> Server {
    let mut command = Command::new("python3");
    command
        .arg(workspace().join("docs/tutorial/keyvalue_pb.py"))
        .arg("0");
    Server::spawn(command)
}

/// torsion-kv and its PB address.
fn torsion_kv() -> (Server, String) {
    let server = Server::start("torsion-kv", &["-p", "0", "--amp-port", "0", "--pb-port", "0"]);
    let pb = server.announced("torsion-kv pb");
    (server, pb)
}

/// What the seeds' client, on Twisted, sees from a PB key-value server.
fn transcript(addr: &str) -> String {
    let out = python("tests/interop/kv_pb_client.py", &[addr]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.stdout
}

/// The seeds' command-line client: (exit status, what it printed).
fn seeds_client(addr: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec![addr];
    all.extend_from_slice(args);
    let out = python("docs/tutorial/keyvalue_pb_client.py", &all);
    (out.code, out.stdout)
}

/// The same, keys and values as bytes.
fn seeds_client_bytes(addr: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["--bytes"];
    all.extend_from_slice(args);
    seeds_client(addr, &all)
}

#[test]
fn the_seeds_remote_key_value_cannot_tell_torsion_kv_from_keyvalue_pb() {
    let (_kv, pb) = torsion_kv();
    let got = transcript(&pb);
    let expected = "get missing: failure builtins.KeyError: 'greeting' (a KeyError)\n\
                    set: 'greeting'\n\
                    get: 'hello world'\n\
                    set bytes: b'bin'\n\
                    get bytes: 1024 bytes, sum 130560\n\
                    get bytes missing: failure builtins.KeyError: b'nothing' (a KeyError)\n\
                    set unicode: 'clé'\n\
                    get unicode: 'värde ☃'\n\
                    set str key, bytes value: 'mixed'\n\
                    get it: b'\\x00\\xff'\n\
                    delete: None\n\
                    get deleted: failure builtins.KeyError: 'greeting' (a KeyError)\n\
                    delete missing: failure builtins.KeyError: 'greeting' (a KeyError)\n\
                    by keyword: 'kw'\n\
                    read back: 'by name'\n\
                    no such method: failure twisted.spread.flavors.NoSuchMethod: No such method: remote_frob\n\
                    too few arguments: 'builtins.TypeError'\n\
                    fifty in flight: 'ok'\n";
    assert_eq!(got, expected);
    let twisted = keyvalue_pb();
    assert_eq!(transcript(twisted.addr()), got, "Twisted's own server differs");
}

#[test]
fn what_twisted_sets_over_pb_the_line_protocol_reads() {
    let (kv, pb) = torsion_kv();
    assert_eq!(
        seeds_client(&pb, &["set", "greeting", "hello from Twisted"]),
        (Some(0), "'greeting'\n".into())
    );
    let mut line = kv.connect();
    torsion_tests::send(&mut line, b"get greeting\r\nset other from-the-line\r\n");
    assert_eq!(
        torsion_tests::read_line(&mut line),
        "VALUE greeting hello from Twisted\r\n"
    );
    assert_eq!(torsion_tests::read_line(&mut line), "STORED\r\n");
    // A value set over the line protocol reaches Python as a str.
    assert_eq!(
        seeds_client(&pb, &["get", "other"]),
        (Some(0), "'from-the-line'\n".into())
    );
}

/// torsion-kvc over PB to `addr`: (exit status, stdout, stderr).
fn kvc(addr: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["--pb", "--timeout", "20", "-s", addr];
    all.extend_from_slice(args);
    let out = run("torsion-kvc", &all);
    (out.code, out.stdout, out.stderr)
}

#[test]
fn torsion_kvc_calls_the_seeds_keyvalue_pb_with_str_and_bytes() {
    let twisted = keyvalue_pb();
    let addr = twisted.addr();
    let (code, _, stderr) = kvc(addr, &["get", "greeting"]);
    assert_eq!(
        (code, stderr.as_str()),
        (Some(1), "torsion-kvc: key not found: greeting\n")
    );
    assert_eq!(kvc(addr, &["set", "greeting", "hello", "world"]).1, "STORED\n");
    // torsion-kvc sends str by default: Python's store holds a str key and value.
    assert_eq!(
        seeds_client(addr, &["get", "greeting"]),
        (Some(0), "'hello world'\n".into())
    );
    assert_eq!(
        seeds_client_bytes(addr, &["get", "greeting"]).0,
        Some(1),
        "b'greeting' is another key"
    );
    assert_eq!(kvc(addr, &["get", "greeting"]).1, "hello world\n");
    // --bytes: bytes keys and values.
    assert_eq!(kvc(addr, &["--bytes", "set", "bk", "bv"]).1, "STORED\n");
    assert_eq!(
        seeds_client_bytes(addr, &["get", "bk"]),
        (Some(0), "b'bv'\n".into())
    );
    assert_eq!(kvc(addr, &["get", "bk"]).0, Some(1), "'bk' is another key");
    assert_eq!(kvc(addr, &["--bytes", "get", "bk"]).1, "bv\n");
    // What Python sets, torsion-kvc reads, str or bytes.
    assert_eq!(seeds_client(addr, &["set", "from", "Python"]).0, Some(0));
    assert_eq!(kvc(addr, &["get", "from"]).1, "Python\n");
    assert_eq!(
        seeds_client_bytes(addr, &["set", "raw", "bytes value"]).0,
        Some(0)
    );
    assert_eq!(kvc(addr, &["--bytes", "get", "raw"]).1, "bytes value\n");
    assert_eq!(kvc(addr, &["delete", "greeting"]).1, "DELETED\n");
    assert_eq!(kvc(addr, &["delete", "greeting"]).0, Some(1));
    assert_eq!(
        seeds_client(addr, &["get", "greeting"]).1,
        "builtins.KeyError: 'greeting'\n"
    );
}

fn put(c: &mut Conn, path: &str, body: &str) -> Resp {
    c.send(
        format!(
            "PUT {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    c.response("PUT")
}

#[test]
fn torsion_kvweb_in_front_of_the_seeds_keyvalue_pb() {
    let twisted = keyvalue_pb();
    let addr = twisted.addr().to_string();
    for (strings, flags, python_repr) in [
        ("str", &["--pb"][..], "'from the web'\n"),
        ("bytes", &["--pb", "--bytes"][..], "b'from the web'\n"),
    ] {
        let mut args = vec!["-p", "0", "--kv", &addr];
        args.extend_from_slice(flags);
        let web = Server::start("torsion-kvweb", &args);
        let mut c = Conn::new(web.connect());
        let key = format!("web-{strings}");
        assert_eq!(
            put(&mut c, &format!("/api/keys/{key}"), "from the web").status,
            201,
            "{strings}"
        );
        let read = if strings == "str" {
            seeds_client(&addr, &["get", &key])
        } else {
            seeds_client_bytes(&addr, &["get", &key])
        };
        assert_eq!(read, (Some(0), python_repr.to_string()), "{strings}");
        let set = if strings == "str" {
            seeds_client(&addr, &["set", "greeting", "hello from Twisted"])
        } else {
            seeds_client_bytes(&addr, &["set", "greeting", "hello from Twisted"])
        };
        assert_eq!(set.0, Some(0));
        let r = c.get("/api/keys/greeting");
        assert_eq!(
            (r.status, r.text()),
            (
                200,
                "{\"key\":\"greeting\",\"value\":\"hello from Twisted\"}\n".to_string()
            ),
            "{strings}"
        );
        let page = c.get("/get?key=greeting").text();
        assert!(
            page.contains("<pre id=\"value\">hello from Twisted</pre>"),
            "{page}"
        );
        assert_eq!(
            c.get("/get?key=nothing").status,
            404,
            "{strings}: a KeyError is a 404"
        );
    }
}

/// Runs until `d` fires, 30 s at most.
fn finish<T: 'static>(reactor: &mut Reactor, d: Deferred<T>) -> Result<T, Failure> {
    d.add_timeout(reactor, Duration::from_secs(30));
    reactor.run_until_complete(d).expect("run")
}

#[test]
fn torsion_pb_client_pipelines_against_twisted() {
    let twisted = keyvalue_pb();
    let port = twisted.socket_addr().port();
    let mut reactor = Reactor::new().unwrap();
    let connecting = kv::pb::connect(
        &mut reactor,
        &ClientEndpoint::tcp("127.0.0.1", port),
        Strings::Bytes,
    );
    let client: Rc<dyn KeyValue> = Rc::new(finish(&mut reactor, connecting).unwrap());
    let big: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let r = &mut reactor;
    let mut calls: Vec<Deferred<Vec<u8>>> = (0..100)
        .map(|i| {
            client
                .set(r, format!("k{i}").as_bytes(), format!("v{i}").as_bytes())
                .then(r, |_, ()| Ok(Vec::new()))
        })
        .collect();
    calls.push(client.set(r, b"big", &big).then(r, |_, ()| Ok(Vec::new())));
    calls.extend((0..100).map(|i| client.get(r, format!("k{i}").as_bytes())));
    calls.push(client.get(r, b"big"));
    let all = torsion::defer::gather_results(r, calls);
    let answers = finish(&mut reactor, all).unwrap();
    for (i, value) in answers[101..201].iter().enumerate() {
        assert_eq!(value, format!("v{i}").as_bytes());
    }
    assert_eq!(answers[201], big);
    let missing = client.get(&mut reactor, b"nothing here");
    let failure = finish(&mut reactor, missing).unwrap_err();
    assert!(failure.is::<KeyNotFound>(), "{failure}");
}

#[test]
fn remote_references_from_twisted_are_called_and_released() {
    use torsion_protocols::jelly::Value;
    use torsion_protocols::pb;

    let mut command = Command::new("python3");
    command.arg(workspace().join("tests/interop/pb_counter_server.py"));
    let twisted = Server::spawn(command);
    let mut reactor = Reactor::new().unwrap();
    let endpoint = ClientEndpoint::tcp("127.0.0.1", twisted.socket_addr().port());
    let connecting = pb::connect(&mut reactor, &endpoint);
    let root = finish(&mut reactor, connecting).unwrap();
    let call = |reactor: &mut Reactor, target: &pb::RemoteReference, method: &str, args: Vec<Value>| {
        let d = target.call_remote(reactor, method, args);
        finish(reactor, d).unwrap()
    };
    let counter = call(&mut reactor, &root, "counter", vec![]);
    let counter = root.reference(&counter).expect("a remote reference");
    let by_name = counter.call_remote_with(&mut reactor, "bump", vec![], vec![("by".into(), Value::Int(5))]);
    assert_eq!(finish(&mut reactor, by_name).unwrap(), Value::Int(5));
    assert_eq!(
        call(&mut reactor, &counter, "bump", vec![Value::Int(2)]),
        Value::Int(7)
    );
    assert_eq!(call(&mut reactor, &root, "published", vec![]), Value::Int(1));
    counter.release(&mut reactor);
    assert_eq!(
        call(&mut reactor, &root, "published", vec![]),
        Value::Int(0),
        "Twisted forgot the counter on our decref"
    );
}
