//! Replacing a file atomically and durably: what the fib server's state file
//! and torsion-memcached's warm-restart snapshot both need.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

/// Replaces the file at `path` with what `write` writes, atomically and
/// durably, through the temporary file `tmp` (which must be in the same
/// directory as `path`).
///
/// `tmp` is created (or truncated), handed to `write`, fsynced, then renamed
/// over `path` (atomic on POSIX file systems), and the directory is fsynced
/// so that the rename itself survives a crash. A reader, or a restart after a
/// kill at any point, sees the old file or the new one, never part of one.
/// If anything fails, `tmp` is removed and `path` is unchanged.
pub fn replace_file<T>(
    path: &Path,
    tmp: &Path,
    write: impl FnOnce(File) -> io::Result<(File, T)>,
) -> io::Result<T> {
    let written = (|| -> io::Result<T> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)?;
        let (file, value) = write(file)?;
        file.sync_all()?;
        fs::rename(tmp, path)?;
        Ok(value)
    })();
    if written.is_err() {
        let _ = fs::remove_file(tmp);
    }
    let value = written?;
    File::open(directory_of(path))?.sync_all()?;
    Ok(value)
}

/// The directory holding `path` (`.` for a bare file name).
pub fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;
    use std::io::Write;

    #[test]
    fn replaces_and_cleans_up_on_failure() {
        let dir = Scratch::new("durable");
        let (path, tmp) = (dir.path("file"), dir.path("file.tmp"));
        fs::write(&path, b"old").unwrap();
        let n = replace_file(&path, &tmp, |mut f| {
            f.write_all(b"new")?;
            Ok((f, 3))
        })
        .unwrap();
        assert_eq!((n, fs::read(&path).unwrap()), (3, b"new".to_vec()));
        assert!(!tmp.exists());
        let failed = replace_file(&path, &tmp, |mut f| {
            f.write_all(b"half")?;
            Err::<(File, ()), _>(io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert!(!tmp.exists());
        assert_eq!(directory_of(Path::new("bare")), Path::new("."));
        assert_eq!(directory_of(Path::new("/a/b")), Path::new("/a"));
    }
}
