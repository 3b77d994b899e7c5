//! Unix domain socket transports.

mod util;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::thread;

use torsion::{factory_fn, Address, Protocol, Reactor};
use util::*;

fn socket_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("torsion-{}-{name}.sock", std::process::id()))
}

#[test]
fn listen_unix_serves_and_removes_its_file() {
    init_logging();
    let path = socket_path("echo");
    let mut reactor = Reactor::new().unwrap();
    let listener = reactor
        .listen_unix(
            &path,
            factory_fn(|_, _| Some(Box::new(Echo) as Box<dyn Protocol>)),
        )
        .unwrap();
    assert_eq!(
        reactor.local_addr(listener),
        Some(Address::Unix(Some(path.clone())))
    );
    let client_path = path.clone();
    let client = thread::spawn(move || {
        let mut s = UnixStream::connect(client_path).unwrap();
        s.write_all(b"over a unix socket").unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        out
    });
    run_until(&mut reactor, |_| client.is_finished());
    assert_eq!(client.join().unwrap(), b"over a unix socket");
    assert!(reactor.stop_listening(listener));
    assert!(!path.exists(), "the socket file was left behind");
}

#[test]
fn a_stale_socket_file_is_replaced_but_a_regular_file_is_not() {
    init_logging();
    let path = socket_path("stale");
    // A socket file whose listener is gone.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let mut reactor = Reactor::new().unwrap();
    let listener = reactor.listen_unix(&path, factory_fn(|_, _| None)).unwrap();
    reactor.stop_listening(listener);

    let file = socket_path("regular");
    std::fs::write(&file, b"data").unwrap();
    let error = reactor.listen_unix(&file, factory_fn(|_, _| None)).err().unwrap();
    assert_eq!(error.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read(&file).unwrap(), b"data");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn connect_unix_talks_to_listen_unix() {
    init_logging();
    let path = socket_path("pair");
    let mut reactor = Reactor::new().unwrap();
    reactor
        .listen_unix(
            &path,
            factory_fn(|_, _| Some(Box::new(Echo) as Box<dyn Protocol>)),
        )
        .unwrap();
    let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    struct Client(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl Protocol for Client {
        fn connection_made(&mut self, ctx: &mut torsion::Ctx<'_>) {
            ctx.write(b"ping");
        }
        fn data_received(&mut self, ctx: &mut torsion::Ctx<'_>, data: &[u8]) {
            self.0.borrow_mut().extend_from_slice(data);
            ctx.lose_connection();
        }
    }
    reactor.connect_unix(&path, torsion::OneShot::new(Client(got.clone())));
    run_until(&mut reactor, |_| !got.borrow().is_empty());
    assert_eq!(&*got.borrow(), b"ping");
    std::fs::remove_file(&path).ok();
}

#[test]
fn connect_unix_to_a_missing_path_fails() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let failed = std::rc::Rc::new(std::cell::RefCell::new(None));
    let slot = failed.clone();
    let factory =
        torsion::OneShot::new(Echo).on_failure(move |_, e| *slot.borrow_mut() = Some(e.to_string()));
    reactor.connect_unix(socket_path("nobody-here"), factory);
    run_until(&mut reactor, |_| failed.borrow().is_some());
    assert_eq!(failed.borrow().as_deref(), Some("connection refused"));
}
