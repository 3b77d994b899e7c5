//! torsion-upper: the seeds' uppercase server, on a [`LineReceiver`].
//!
//! It greets each client, answers each `\n`-terminated line with the line
//! uppercased, and, as in the seeds, closes the connection after the first
//! answer unless told to keep it open. A last line without a newline is
//! answered (without one) when the client closes its side. With `count`,
//! the greeting says how many clients are connected (the seeds' exercise
//! 1), a count shared through the factory.
//!
//! Framing is the [`LineReceiver`]'s: lines may arrive in any chunks, and
//! a line longer than [`MAX_LINE`] is refused with `line too long` and the
//! connection closed.

use std::cell::Cell;
use std::rc::Rc;

use torsion::{factory_fn, CloseReason, Factory, Protocol};
use torsion_protocols::{LineCtx, LineHandler, LineReceiver};

/// The seeds' port.
pub const DEFAULT_PORT: u16 = 8000;

/// The greeting of the seeds' server.
pub const GREETING: &[u8] = b"Hi! Send me text to convert to uppercase\n";

/// The longest line the server buffers; a longer one closes the connection.
pub const MAX_LINE: usize = 16 * 1024;

/// How the server behaves.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Greet with the number of connected clients instead of the plain greeting.
    pub count: bool,
    /// Answer every line until the client closes (the seeds close after one).
    pub keep_open: bool,
}

/// One client of the uppercase server.
pub struct Upper {
    options: Options,
    clients: Rc<Cell<usize>>,
}

impl Upper {
    /// A client of a server with `options`, counted in `clients`.
    pub fn new(options: Options, clients: Rc<Cell<usize>>) -> Self {
        Upper { options, clients }
    }

    /// This client's protocol: `\n`-terminated lines of at most [`MAX_LINE`] bytes.
    pub fn protocol(self) -> LineReceiver<Upper> {
        LineReceiver::new(self)
            .with_delimiter(b"\n")
            .with_max_line_length(MAX_LINE)
    }
}

impl LineHandler for Upper {
    fn connection_made(&mut self, ctx: &mut LineCtx<'_, '_>) {
        self.clients.set(self.clients.get() + 1);
        if self.options.count {
            ctx.write(format!("Hi! There are {} clients\n", self.clients.get()).as_bytes());
        } else {
            ctx.write(GREETING);
        }
    }

    fn line_received(&mut self, ctx: &mut LineCtx<'_, '_>, line: &[u8]) {
        ctx.send_line(&line.to_ascii_uppercase());
        if !self.options.keep_open {
            ctx.lose_connection();
        }
    }

    fn line_length_exceeded(&mut self, ctx: &mut LineCtx<'_, '_>, _buffered: &[u8]) {
        log::warn!("{}: line longer than {MAX_LINE} bytes; closing", ctx.id());
        ctx.write(b"line too long\n");
        ctx.lose_connection();
    }

    fn read_connection_lost(&mut self, ctx: &mut LineCtx<'_, '_>, rest: &[u8]) {
        // A last line without a newline still gets its answer.
        if !rest.is_empty() {
            ctx.write(&rest.to_ascii_uppercase());
        }
        ctx.lose_connection();
    }

    fn connection_lost(&mut self, _ctx: &mut LineCtx<'_, '_>, _reason: CloseReason) {
        self.clients.set(self.clients.get().saturating_sub(1));
    }
}

/// The factory, holding the count of connected clients.
pub fn factory(options: Options) -> impl Factory {
    let clients = Rc::new(Cell::new(0));
    factory_fn(move |_, _| {
        Some(Box::new(Upper::new(options, clients.clone()).protocol()) as Box<dyn Protocol>)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use torsion::testing::StringTransport;

    #[test]
    fn greets_answers_and_closes() {
        let mut t = StringTransport::from_factory(&mut factory(Options::default()));
        assert_eq!(t.value(), GREETING);
        t.clear();
        t.receive_bytewise(b"twisted is cool\r\n");
        assert_eq!(t.text(), "TWISTED IS COOL\r\n");
        assert!(t.disconnected());
    }

    #[test]
    fn keep_open_answers_every_line() {
        let options = Options {
            keep_open: true,
            ..Options::default()
        };
        let mut t = StringTransport::from_factory(&mut factory(options));
        t.clear();
        t.receive(b"a\nb\nc");
        assert_eq!(t.text(), "A\nB\n");
        t.receive_eof();
        assert_eq!(t.text(), "A\nB\nC");
        assert!(t.disconnected());
    }

    #[test]
    fn counts_connected_clients() {
        let options = Options {
            count: true,
            ..Options::default()
        };
        let mut factory = factory(options);
        let mut first = StringTransport::from_factory(&mut factory);
        assert_eq!(first.text(), "Hi! There are 1 clients\n");
        let second = StringTransport::from_factory(&mut factory);
        assert_eq!(second.text(), "Hi! There are 2 clients\n");
        first.receive(b"x\n");
        let third = StringTransport::from_factory(&mut factory);
        assert_eq!(third.text(), "Hi! There are 2 clients\n");
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut t = StringTransport::from_factory(&mut factory(Options::default()));
        t.receive(&vec![b'a'; MAX_LINE + 1]);
        assert!(t.text().ends_with("line too long\n"));
        assert!(t.disconnected());
    }

    #[test]
    fn a_line_of_the_maximum_length_is_answered() {
        let mut t = StringTransport::from_factory(&mut factory(Options::default()));
        t.clear();
        let mut line = vec![b'a'; MAX_LINE];
        line.push(b'\n');
        t.receive(&line);
        assert_eq!(t.value(), line.to_ascii_uppercase());
    }

    #[test]
    fn only_the_first_line_is_answered_by_default() {
        let mut t = StringTransport::from_factory(&mut factory(Options::default()));
        t.clear();
        t.receive(b"one\ntwo\n");
        assert_eq!(t.text(), "ONE\n");
        assert!(t.disconnected());
    }
}
