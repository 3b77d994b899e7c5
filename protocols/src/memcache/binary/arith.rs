//! `increment` and `decrement` (and quiet): delta, initial value and
//! expiration time as 20 bytes of extras (`complete_incr_bin`). An
//! expiration of [`NO_CREATE`](super::NO_CREATE) means: do not create a
//! missing counter.

use super::opcode::*;
use super::{be_u32, be_u64, valid, Command, Lengths};

/// The command of a counter opcode (`None` for any other opcode).
pub(super) fn decode(opcode: u8, l: Lengths, extras: &[u8]) -> Option<Command> {
    matches!(opcode, INCREMENT | INCREMENTQ | DECREMENT | DECREMENTQ).then(|| {
        valid(
            l.key > 0 && l.extras == 20 && l.body == l.key + l.extras,
            Command::Arith {
                incr: matches!(opcode, INCREMENT | INCREMENTQ),
                quiet: matches!(opcode, INCREMENTQ | DECREMENTQ),
                delta: be_u64(extras),
                initial: be_u64(extras.get(8..).unwrap_or_default()),
                exptime: be_u32(extras.get(16..).unwrap_or_default()),
            },
        )
    })
}

/// The opcode of a counter command.
pub(super) fn opcode(command: &Command) -> Option<u8> {
    match *command {
        Command::Arith { incr, quiet, .. } => {
            Some([[DECREMENT, DECREMENTQ], [INCREMENT, INCREMENTQ]][usize::from(incr)][usize::from(quiet)])
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{command, packet};
    use super::super::{Invalid, NO_CREATE};
    use super::*;

    #[test]
    fn counters() {
        for (incr, quiet) in [(false, false), (false, true), (true, false), (true, true)] {
            let arith = Command::Arith {
                incr,
                quiet,
                delta: 5,
                initial: 9,
                exptime: NO_CREATE,
            };
            let mut extras = Vec::new();
            arith.extras(&mut extras);
            assert_eq!(extras.len(), 20);
            assert_eq!(
                command(&packet(opcode(&arith).unwrap(), &extras, b"k", &[], 0)),
                arith
            );
        }
        let bad = Command::Invalid(Invalid::Arguments);
        assert_eq!(command(&packet(INCREMENT, &[0; 8], b"k", b"", 0)), bad);
    }
}
