//! The writes: `set`, `add`, `replace` (flags and expiration time as extras)
//! and `append`, `prepend` (no extras), each with a quiet variant; the value
//! follows the key. memcached's `process_bin_update` and
//! `process_bin_append_prepend`.

use super::opcode::*;
use super::{be_u32, valid, Command, Lengths, StoreOp};

/// The command of a write opcode (`None` for any other opcode).
pub(super) fn decode(opcode: u8, l: Lengths, extras: &[u8]) -> Option<Command> {
    Some(match opcode {
        SET | SETQ | ADD | ADDQ | REPLACE | REPLACEQ => {
            let op = match opcode {
                SET | SETQ => StoreOp::Set,
                ADD | ADDQ => StoreOp::Add,
                _ => StoreOp::Replace,
            };
            valid(
                l.extras == 8 && l.key != 0 && l.body >= l.key + 8,
                Command::Store {
                    op,
                    quiet: matches!(opcode, SETQ | ADDQ | REPLACEQ),
                    flags: be_u32(extras),
                    exptime: be_u32(extras.get(4..).unwrap_or_default()),
                },
            )
        }
        APPEND | APPENDQ | PREPEND | PREPENDQ => valid(
            l.key > 0 && l.extras == 0,
            Command::Concat {
                append: matches!(opcode, APPEND | APPENDQ),
                quiet: matches!(opcode, APPENDQ | PREPENDQ),
            },
        ),
        _ => return None,
    })
}

/// The opcode of a write.
pub(super) fn opcode(command: &Command) -> Option<u8> {
    Some(match *command {
        Command::Store { op, quiet, .. } => {
            let pair = match op {
                StoreOp::Set => [SET, SETQ],
                StoreOp::Add => [ADD, ADDQ],
                StoreOp::Replace => [REPLACE, REPLACEQ],
            };
            pair[usize::from(quiet)]
        }
        Command::Concat { append, quiet } => {
            [[PREPEND, PREPENDQ], [APPEND, APPENDQ]][usize::from(append)][usize::from(quiet)]
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{command, complete, packet};
    use super::super::{Invalid, Request};
    use super::*;
    use crate::memcache::body::{Body, Head};

    #[test]
    fn every_write() {
        let e8 = [0, 0, 0, 1, 0, 0, 0, 2];
        for op in [StoreOp::Set, StoreOp::Add, StoreOp::Replace] {
            for quiet in [false, true] {
                let store = Command::Store {
                    op,
                    quiet,
                    flags: 1,
                    exptime: 2,
                };
                assert_eq!(
                    command(&packet(opcode(&store).unwrap(), &e8, b"k", b"v", 0)),
                    store
                );
            }
        }
        for (append, quiet) in [(false, false), (false, true), (true, false), (true, true)] {
            let concat = Command::Concat { append, quiet };
            assert_eq!(
                command(&packet(opcode(&concat).unwrap(), &[], b"k", b"v", 0)),
                concat
            );
        }
    }

    #[test]
    fn the_value_follows_the_key() {
        let p = packet(SET, &[0, 0, 0, 7, 0, 0, 0, 9], b"key", b"value", 42);
        let (r, consumed) = complete(&p);
        assert_eq!(consumed, 24 + 8 + 3);
        assert_eq!(r.header.opaque, 0xdead_beef);
        assert_eq!((r.header.cas, r.header.body_len), (42, 16));
        assert_eq!((r.key, r.value_len()), (&b"key"[..], 5));
        let Body::Value(block) = r.body() else { panic!() };
        assert_eq!((block.key_len, block.total()), (3, 5));
        assert_eq!(&p[consumed..], b"value");
        let mut again = Vec::new();
        Request::write(&r, &mut again);
        assert_eq!(again, p[..consumed]);
    }

    #[test]
    fn lengths_that_do_not_fit() {
        let bad = Command::Invalid(Invalid::Arguments);
        for (op, extras, key) in [
            (SET, &[0u8; 4][..], &b"k"[..]),
            (SET, &[0; 8], b""),
            (APPEND, &[0; 4], b"k"),
        ] {
            assert_eq!(command(&packet(op, extras, key, b"v", 0)), bad, "opcode {op:#x}");
        }
    }
}
