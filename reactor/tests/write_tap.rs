//! `Ctx::set_write_tap` and `Ctx::is_closing`.

use std::cell::RefCell;
use std::rc::Rc;

use torsion::testing::StringTransport;
use torsion::{Ctx, Protocol};

type Seen = Rc<RefCell<Vec<u8>>>;
type Closing = Rc<RefCell<Vec<bool>>>;

struct Tapped {
    seen: Seen,
    closing: Closing,
}

impl Protocol for Tapped {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        let seen = self.seen.clone();
        ctx.set_write_tap(Some(Box::new(move |bytes| {
            seen.borrow_mut().extend_from_slice(bytes)
        })));
        ctx.write(b"hello ");
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        match data {
            b"half" => ctx.lose_write_connection(),
            b"close" => ctx.lose_connection(),
            _ => ctx.write_sequence(&[data, b"!"]),
        }
        self.closing.borrow_mut().push(ctx.is_closing());
        ctx.write(b"late");
    }
}

fn tapped() -> (StringTransport, Seen, Closing) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let closing = Rc::new(RefCell::new(Vec::new()));
    let t = StringTransport::new(Tapped {
        seen: seen.clone(),
        closing: closing.clone(),
    });
    (t, seen, closing)
}

#[test]
fn the_tap_sees_every_accepted_write() {
    let (mut t, seen, closing) = tapped();
    t.receive(b"x");
    assert_eq!(t.value(), b"hello x!late");
    assert_eq!(seen.borrow().as_slice(), b"hello x!late");
    t.receive(b"close");
    // The write after lose_connection is refused, and the tap does not see it.
    assert_eq!(seen.borrow().as_slice(), b"hello x!late");
    assert_eq!(*closing.borrow(), [false, true]);
    assert!(t.disconnected());
}

#[test]
fn half_close_is_not_closing() {
    let (mut t, _seen, closing) = tapped();
    t.receive(b"half");
    assert_eq!(*closing.borrow(), [false]);
    assert!(!t.disconnected());
}
