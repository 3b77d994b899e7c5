//! The commands about the connection and the server: `quit`, `flush`,
//! `noop`, `version`, `stat`, and SASL, which is not enabled (*Unknown
//! command*, its body skipped, as memcached answers without SASL).

use super::opcode::*;
use super::{be_u32, valid, Command, Lengths};

/// The command of one of these opcodes (`None` for any other opcode).
pub(super) fn decode(opcode: u8, l: Lengths, extras: &[u8]) -> Option<Command> {
    Some(match opcode {
        VERSION => valid(l.none(), Command::Version),
        NOOP => valid(l.none(), Command::Noop),
        QUIT | QUITQ => valid(
            l.none(),
            Command::Quit {
                quiet: opcode == QUITQ,
            },
        ),
        FLUSH | FLUSHQ => valid(
            l.key == 0 && l.body == l.extras && (l.extras == 0 || l.extras == 4),
            Command::Flush {
                quiet: opcode == FLUSHQ,
                exptime: if l.extras == 4 { be_u32(extras) } else { 0 },
            },
        ),
        // Like touch, stat does not own body bytes past its key.
        STAT => valid(l.extras == 0, Command::Stat),
        SASL_LIST_MECHS => valid(l.none(), Command::Sasl),
        SASL_AUTH | SASL_STEP => valid(l.extras == 0 && l.key != 0, Command::Sasl),
        _ => return None,
    })
}

/// The opcode of one of these commands (`None` for SASL: not sent).
pub(super) fn opcode(command: &Command) -> Option<u8> {
    Some(match *command {
        Command::Version => VERSION,
        Command::Noop => NOOP,
        Command::Quit { quiet } => [QUIT, QUITQ][usize::from(quiet)],
        Command::Flush { quiet, .. } => [FLUSH, FLUSHQ][usize::from(quiet)],
        Command::Stat => STAT,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{command, complete, packet};
    use super::super::Invalid;
    use super::*;

    #[test]
    fn every_admin_command() {
        let e4 = 77u32.to_be_bytes();
        for (op, extras, key, expected) in [
            (QUIT, &[][..], &[][..], Command::Quit { quiet: false }),
            (QUITQ, &[], &[], Command::Quit { quiet: true }),
            (
                FLUSH,
                &[],
                &[],
                Command::Flush {
                    quiet: false,
                    exptime: 0,
                },
            ),
            (
                FLUSH,
                &e4,
                &[],
                Command::Flush {
                    quiet: false,
                    exptime: 77,
                },
            ),
            (
                FLUSHQ,
                &e4,
                &[],
                Command::Flush {
                    quiet: true,
                    exptime: 77,
                },
            ),
            (NOOP, &[], &[], Command::Noop),
            (VERSION, &[], &[], Command::Version),
            (STAT, &[], &[], Command::Stat),
            (STAT, &[], b"items", Command::Stat),
            (SASL_LIST_MECHS, &[], &[], Command::Sasl),
            (SASL_AUTH, &[], b"PLAIN", Command::Sasl),
            (SASL_STEP, &[], b"PLAIN", Command::Sasl),
            (VERBOSITY, &e4, &[], Command::Unknown),
            (0x1f, &[], &[], Command::Unknown),
            (0x25, &[], b"k", Command::Unknown),
            (0xff, &[], &[], Command::Unknown),
        ] {
            assert_eq!(
                command(&packet(op, extras, key, &[], 0)),
                expected,
                "opcode {op:#x}"
            );
        }
    }

    #[test]
    fn lengths_that_do_not_fit() {
        let bad = Command::Invalid(Invalid::Arguments);
        for (op, extras, key, value) in [
            (NOOP, &[][..], &b"k"[..], &b""[..]),
            (VERSION, &[], &[], b"x"),
            (QUIT, &[0; 4], &[], &[]),
            (FLUSH, &[0; 8], &[], &[]),
            (FLUSH, &[0; 4], &[], b"x"),
            (STAT, &[0; 4], &[], &[]),
            (SASL_LIST_MECHS, &[], b"k", &[]),
            (SASL_AUTH, &[], b"", b"x"),
        ] {
            assert_eq!(command(&packet(op, extras, key, value, 0)), bad, "opcode {op:#x}");
        }
    }

    #[test]
    fn stat_does_not_own_extra_body_bytes() {
        let mut p = packet(STAT, &[], b"items", b"", 0);
        p[11] += 3; // three more body bytes, read as the next packet
        let (r, consumed) = complete(&p);
        assert_eq!((consumed, r.value_len()), (29, 0));
    }
}
