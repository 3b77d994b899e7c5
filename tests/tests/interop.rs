//! The interop suite: Torsion against real third-party programs. Not part of
//! `cargo test --workspace` (it needs programs a fresh machine lacks);
//! `.ci/run` installs them and runs `cargo test -p torsion-tests --features
//! interop --test interop`.

use std::path::PathBuf;
use std::process::Command;

use torsion_tests::Server;

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop")
}

fn python() -> Command {
    let mut command = Command::new("python3");
    command.current_dir(interop_dir());
    command
}

/// The seeds' multiclient (Python's socket module) against torsion-upper,
/// sequentially and with one thread per word.
#[test]
fn python_multiclient_against_torsion_upper() {
    let server = Server::start("torsion-upper", &["-p", "0"]);
    let greeting = "Hi! Send me text to convert to uppercase\n";
    for mode in [None, Some("--threads")] {
        let mut command = python();
        command.arg("multiclient.py").arg(server.addr());
        command.args(mode);
        command.args(["a", "b", "twisted is cool"]);
        let output = command.output().expect("run python3");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let expected = format!("{greeting}A\r\n{greeting}B\r\n{greeting}TWISTED IS COOL\r\n");
        assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    }
}
