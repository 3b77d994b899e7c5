//! A scratch folder for the unit tests that touch files (a state file, a
//! log, a pidfile): fresh, unique within the test process, removed when
//! dropped.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh, empty folder under the system's temporary one.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    /// `torsion-servers-<pid>-<n>-<name>`: tests of different modules may
    /// share a name, the number keeps them apart.
    pub(crate) fn new(name: &str) -> Scratch {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("torsion-servers-{}-{n}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a scratch folder");
        Scratch(dir)
    }

    /// A path in the folder.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
