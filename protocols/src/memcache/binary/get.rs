//! The reads: `get` (and `getq`, `getk`, `getkq`), `gat` (and `gatq`,
//! `gatk`, `gatkq`), and `touch`, memcached's `process_bin_get_or_touch`.
//!
//! A hit answers the item's flags as extras, its value and, for the `k`
//! variants, its key; a quiet variant says nothing on a miss.

use super::opcode::*;
use super::{be_u32, valid, Command, Lengths};

/// The command of a read opcode (`None` for any other opcode).
pub(super) fn decode(opcode: u8, l: Lengths, extras: &[u8]) -> Option<Command> {
    Some(match opcode {
        GET | GETQ | GETK | GETKQ => valid(
            l.extras == 0 && l.body == l.key && l.key > 0,
            Command::Get {
                quiet: matches!(opcode, GETQ | GETKQ),
                with_key: matches!(opcode, GETK | GETKQ),
            },
        ),
        // touch and the gat family do not check the body length: further
        // body bytes are read as the next packet, as memcached reads them.
        TOUCH => valid(
            l.extras == 4 && l.key != 0,
            Command::Touch {
                exptime: be_u32(extras),
            },
        ),
        GAT | GATQ | GATK | GATKQ => valid(
            l.extras == 4 && l.key != 0,
            Command::GetAndTouch {
                exptime: be_u32(extras),
                quiet: matches!(opcode, GATQ | GATKQ),
                with_key: matches!(opcode, GATK | GATKQ),
            },
        ),
        _ => return None,
    })
}

/// The opcode of a read.
pub(super) fn opcode(command: &Command) -> Option<u8> {
    Some(match *command {
        Command::Get { quiet, with_key } => {
            [[GET, GETQ], [GETK, GETKQ]][usize::from(with_key)][usize::from(quiet)]
        }
        Command::GetAndTouch { quiet, with_key, .. } => {
            [[GAT, GATQ], [GATK, GATKQ]][usize::from(with_key)][usize::from(quiet)]
        }
        Command::Touch { .. } => TOUCH,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{command, packet};
    use super::super::Invalid;
    use super::*;

    #[test]
    fn every_read() {
        let e4 = 77u32.to_be_bytes();
        for (quiet, with_key) in [(false, false), (true, false), (false, true), (true, true)] {
            let get = Command::Get { quiet, with_key };
            let op = opcode(&get).unwrap();
            assert_eq!(command(&packet(op, &[], b"k", &[], 0)), get);
            let gat = Command::GetAndTouch {
                exptime: 77,
                quiet,
                with_key,
            };
            let op = opcode(&gat).unwrap();
            assert_eq!(command(&packet(op, &e4, b"k", &[], 0)), gat);
        }
        assert_eq!(
            command(&packet(TOUCH, &e4, b"k", &[], 0)),
            Command::Touch { exptime: 77 }
        );
    }

    #[test]
    fn lengths_that_do_not_fit() {
        let bad = Command::Invalid(Invalid::Arguments);
        for (op, extras, key, value) in [
            (GET, &[0u8; 4][..], &b"k"[..], &b""[..]),
            (GET, &[], b"", b""),
            (GET, &[], b"k", b"x"),
            (TOUCH, &[], b"k", &[]),
            (GAT, &[0; 4], b"", &[]),
        ] {
            assert_eq!(command(&packet(op, extras, key, value, 0)), bad, "opcode {op:#x}");
        }
    }
}
