//! `delete` and `deleteq`: a key, no extras, no value
//! (`process_bin_delete`).

use super::opcode::*;
use super::{valid, Command, Lengths};

/// The command of a delete opcode (`None` for any other opcode).
pub(super) fn decode(opcode: u8, l: Lengths) -> Option<Command> {
    matches!(opcode, DELETE | DELETEQ).then(|| {
        valid(
            l.key > 0 && l.extras == 0 && l.body == l.key,
            Command::Delete {
                quiet: opcode == DELETEQ,
            },
        )
    })
}

/// The opcode of a delete.
pub(super) fn opcode(command: &Command) -> Option<u8> {
    match *command {
        Command::Delete { quiet } => Some(if quiet { DELETEQ } else { DELETE }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{command, packet};
    use super::super::Invalid;
    use super::*;

    #[test]
    fn deletes() {
        for quiet in [false, true] {
            let delete = Command::Delete { quiet };
            assert_eq!(
                command(&packet(opcode(&delete).unwrap(), &[], b"k", &[], 0)),
                delete
            );
        }
        let bad = Command::Invalid(Invalid::Arguments);
        assert_eq!(command(&packet(DELETE, &[], b"k", b"x", 0)), bad);
        assert_eq!(command(&packet(DELETE, &[], b"", &[], 0)), bad);
    }
}
