//! LogTraffic logs every byte in and out at trace level.

use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};
use torsion::testing::StringTransport;
use torsion::{Ctx, Protocol};
use torsion_protocols::policies::{LogTraffic, TRAFFIC_TARGET};

/// Keeps the traffic lines (this test binary's global logger).
struct Capture(Mutex<Vec<String>>);

impl Log for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == TRAFFIC_TARGET && metadata.level() <= Level::Trace
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            self.0.lock().unwrap().push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

struct Upper;

impl Protocol for Upper {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        ctx.write(b"hi\r\n");
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        ctx.write_sequence(&[&data.to_ascii_uppercase(), b"\x00"]);
        let id = ctx.id();
        // A write from outside the protocol's callbacks is seen too.
        ctx.call_soon(move |reactor| reactor.transport(id).write(b"later"));
    }
}

#[test]
fn every_byte_in_and_out_is_logged() {
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(LevelFilter::Trace);
    let mut t = StringTransport::new(LogTraffic::new(Upper));
    t.receive(b"abc\n");
    t.receive_eof();
    assert_eq!(t.value(), b"hi\r\nABC\n\x00later");
    let lines = CAPTURE.0.lock().unwrap().clone();
    let id = t.id();
    let expected = [
        format!("{id} connected to memory"),
        format!("{id} >>> hi\\r\\n"),
        format!("{id} <<< abc\\n"),
        format!("{id} >>> ABC\\n"),
        format!("{id} >>> \\x00"),
        format!("{id} >>> later"),
        format!("{id} <<< end of file"),
        format!("{id} closed: connection closed cleanly"),
    ];
    assert_eq!(lines, expected);
}
