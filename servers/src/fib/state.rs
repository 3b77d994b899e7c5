//! The state file: its format (sans-I/O), loading it, and saving it atomically.
//!
//! # Format
//!
//! Three lines of ASCII, each ending in `\n`:
//!
//! ```text
//! torsion-fib state 1
//! 89
//! 144
//! ```
//!
//! A version line, then `a` and `b` in decimal (no sign, no leading zeros).
//! A file is accepted only if it is exactly that and the pair passes
//! [`Fibonacci::from_pair`]: consecutive Fibonacci numbers. The pair is its
//! own checksum: a changed, lost or added digit breaks Cassini's identity.
//!
//! # Saving
//!
//! [`save_atomic`] writes a temporary file in the same directory, fsyncs it,
//! renames it over the state file and fsyncs the directory: a reader (or a
//! restart after a crash) sees the old state or the new one, never half of
//! one.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use num_bigint::BigUint;

use super::{Fibonacci, PairError};

/// The first line of every state file.
pub const HEADER: &str = "torsion-fib state 1";

/// The largest state file read (a corrupt file must not exhaust memory).
/// 64 MiB holds two numbers of 32 million digits each: the sequence after
/// some 150 million requests.
pub const MAX_STATE_BYTES: u64 = 64 * 1024 * 1024;

/// Why the bytes of a state file are not a state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// The first line is not [`HEADER`].
    Header,
    /// The file ends before line `line`.
    Missing {
        /// The 1-based line number.
        line: usize,
    },
    /// Line `line` is not a decimal number.
    NotANumber {
        /// The 1-based line number.
        line: usize,
    },
    /// Something follows the third line, or the last line has no `\n`.
    Trailing,
    /// The numbers are not a point of the sequence.
    Pair(PairError),
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::Header => write!(f, "the first line is not `{HEADER}`"),
            FormatError::Missing { line } => write!(f, "line {line} is missing"),
            FormatError::NotANumber { line } => write!(f, "line {line} is not a decimal number"),
            FormatError::Trailing => f.write_str("unexpected bytes after the third line"),
            FormatError::Pair(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FormatError {}

/// The bytes of the state file for `fib`.
pub fn encode(fib: &Fibonacci) -> Vec<u8> {
    let (a, b) = fib.pair();
    format!("{HEADER}\n{a}\n{b}\n").into_bytes()
}

/// Reads a state from the bytes of a state file.
pub fn decode(bytes: &[u8]) -> Result<Fibonacci, FormatError> {
    let mut lines = bytes.split_inclusive(|&b| b == b'\n');
    let mut next_line = |line: usize| -> Result<&[u8], FormatError> {
        match lines.next() {
            Some(l) => l.strip_suffix(b"\n").ok_or(FormatError::Trailing),
            None => Err(FormatError::Missing { line }),
        }
    };
    if next_line(1)? != HEADER.as_bytes() {
        return Err(FormatError::Header);
    }
    let a = number(next_line(2)?).ok_or(FormatError::NotANumber { line: 2 })?;
    let b = number(next_line(3)?).ok_or(FormatError::NotANumber { line: 3 })?;
    if lines.next().is_some() {
        return Err(FormatError::Trailing);
    }
    Fibonacci::from_pair(a, b).map_err(FormatError::Pair)
}

/// A decimal number without sign or leading zeros.
fn number(digits: &[u8]) -> Option<BigUint> {
    let canonical = !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1);
    if canonical {
        BigUint::parse_bytes(digits, 10)
    } else {
        None
    }
}

/// Why a state file could not be loaded or saved; it names the file.
#[derive(Debug)]
pub enum StateError {
    /// The file exists but is not a valid state.
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        error: FormatError,
    },
    /// The file is larger than [`MAX_STATE_BYTES`].
    TooLarge {
        /// The state file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// Reading or writing failed.
    Io {
        /// The state file.
        path: PathBuf,
        /// What failed.
        error: io::Error,
    },
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Corrupt { path, error } => write!(
                f,
                "state file {} is corrupt: {error}; it was left untouched (fix or remove it to start over)",
                path.display()
            ),
            StateError::TooLarge { path, size } => write!(
                f,
                "state file {} is {size} bytes, more than the {MAX_STATE_BYTES} a state can be; it was left untouched",
                path.display()
            ),
            StateError::Io { path, error } => write!(f, "state file {}: {error}", path.display()),
        }
    }
}

impl std::error::Error for StateError {}

/// Loads the state at `path`: `Ok(None)` if there is no such file.
pub fn load(path: &Path) -> Result<Option<Fibonacci>, StateError> {
    let io_error = |error| StateError::Io {
        path: path.to_path_buf(),
        error,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(e)),
    };
    let mut bytes = Vec::new();
    // Read one byte past the bound to know whether the file exceeds it.
    file.take(MAX_STATE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > MAX_STATE_BYTES {
        let size = fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
        return Err(StateError::TooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    decode(&bytes).map(Some).map_err(|error| StateError::Corrupt {
        path: path.to_path_buf(),
        error,
    })
}

/// Replaces the file at `path` with `bytes`, atomically and durably.
///
/// A temporary file in the same directory (`.NAME.tmp.PID`) is written and
/// fsynced, then renamed over `path` (atomic on POSIX file systems), then
/// the directory is fsynced so that the rename itself survives a crash. If
/// anything fails, the temporary file is removed and `path` is unchanged.
pub fn save_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the state path names no file"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = crate::durable::directory_of(path).join(tmp_name);
    crate::durable::replace_file(path, &tmp, |mut file| {
        file.write_all(bytes)?;
        Ok((file, ()))
    })
}

/// Saves `fib` to `path` (see [`save_atomic`]).
pub fn save(path: &Path, fib: &Fibonacci) -> Result<(), StateError> {
    save_atomic(path, &encode(fib)).map_err(|error| StateError::Io {
        path: path.to_path_buf(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(n: usize) -> Fibonacci {
        let mut fib = Fibonacci::new();
        for _ in 0..n {
            fib.advance();
        }
        fib
    }

    #[test]
    fn encodes_and_decodes() {
        assert_eq!(encode(&Fibonacci::new()), b"torsion-fib state 1\n1\n1\n");
        assert_eq!(encode(&at(10)), b"torsion-fib state 1\n89\n144\n");
        for n in [0, 1, 2, 50, 1000] {
            assert_eq!(decode(&encode(&at(n))), Ok(at(n)));
        }
    }

    #[test]
    fn refuses_anything_else() {
        let cases: &[(&[u8], FormatError)] = &[
            (b"", FormatError::Missing { line: 1 }),
            (b"torsion-fib state 2\n1\n1\n", FormatError::Header),
            (b"torsion-fib state 1\n", FormatError::Missing { line: 2 }),
            (b"torsion-fib state 1\n89\n", FormatError::Missing { line: 3 }),
            (b"torsion-fib state 1\n89\n144", FormatError::Trailing),
            (b"torsion-fib state 1\n89\n144\n\n", FormatError::Trailing),
            (b"torsion-fib state 1\n89\n144\nx", FormatError::Trailing),
            (
                b"torsion-fib state 1\n+89\n144\n",
                FormatError::NotANumber { line: 2 },
            ),
            (
                b"torsion-fib state 1\n089\n144\n",
                FormatError::NotANumber { line: 2 },
            ),
            (
                b"torsion-fib state 1\n89\n14 4\n",
                FormatError::NotANumber { line: 3 },
            ),
            (
                b"torsion-fib state 1\n89\n\n",
                FormatError::NotANumber { line: 3 },
            ),
            (b"torsion-fib state 1\r\n89\n144\n", FormatError::Header),
            (
                b"torsion-fib state 1\n89\n145\n",
                FormatError::Pair(PairError::NotConsecutive),
            ),
            (
                b"torsion-fib state 1\n0\n1\n",
                FormatError::Pair(PairError::OutOfOrder),
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                decode(bytes).as_ref(),
                Err(expected),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn numbers_must_be_ascii_digits() {
        assert_eq!(number(b"0"), Some(BigUint::from(0u32)));
        assert_eq!(number(b"123"), Some(BigUint::from(123u32)));
        for bad in [&b""[..], b"00", b"-1", b"1_000", b"\xd9\xa1", b"1e3"] {
            assert_eq!(number(bad), None, "{bad:?}");
        }
    }

    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("torsion-fib-state-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn saves_atomically_and_loads_back() {
        let dir = scratch_dir("roundtrip");
        let path = dir.join("fib.state");
        assert!(load(&path).unwrap().is_none());
        save(&path, &at(20)).unwrap();
        save(&path, &at(21)).unwrap();
        assert_eq!(load(&path).unwrap(), Some(at(21)));
        // Only the state file is left: no temporary file.
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["fib.state"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_save_leaves_the_old_state() {
        let dir = scratch_dir("failed");
        let path = dir.join("fib.state");
        save(&path, &at(5)).unwrap();
        // Renaming a file over a directory fails: the old state must survive.
        let blocked = dir.join("blocked");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), b"x").unwrap();
        assert!(save(&blocked, &at(6)).is_err());
        assert_eq!(load(&path).unwrap(), Some(at(5)));
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn corrupt_files_name_themselves() {
        let dir = scratch_dir("corrupt");
        let path = dir.join("fib.state");
        fs::write(&path, b"torsion-fib state 1\n89\n145\n").unwrap();
        let error = load(&path).unwrap_err();
        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("not consecutive"), "{message}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
