//! The policy document in a file, safe against crashes and concurrent
//! writers.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{PolicyDocument, PolicyError};

/// A policy document kept in a JSON file.
///
/// - A missing file reads as [`PolicyDocument::new`]: only Global.
/// - [`update`](Self::update) holds an exclusive lock on `PATH.lock` while it
///   reads, changes and writes, so concurrent writers (other processes or
///   threads) lose no update.
/// - The new document goes to a temporary file that is synced and renamed
///   over the old one: a crash leaves the old or the new file, never half.
/// - A file that does not parse is reported as [`PolicyError::Corrupt`] (or
///   [`PolicyError::UnsupportedVersion`]) and never overwritten.
///
/// ```
/// use callseal_core::policy::{Policy, PolicyStore};
///
/// let dir = std::env::temp_dir().join(format!("callseal-doc-policy-{}", std::process::id()));
/// let store = PolicyStore::new(dir.join("policies.json"));
/// store.update(|doc| doc.create_policy(Policy::named("Pilot")?))?;
/// assert!(store.load()?.policy("Pilot").is_ok());
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), callseal_core::policy::PolicyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PolicyStore {
    path: PathBuf,
}

impl PolicyStore {
    /// A store at `path`; nothing is read or written yet.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the document.
    ///
    /// # Errors
    /// [`PolicyError::Io`], [`PolicyError::Corrupt`],
    /// [`PolicyError::UnsupportedVersion`].
    pub fn load(&self) -> Result<PolicyDocument, PolicyError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => PolicyDocument::from_json(&bytes).map_err(|e| match e {
                PolicyError::Corrupt(why) => {
                    PolicyError::Corrupt(format!("{}: {why}", self.path.display()))
                }
                other => other,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PolicyDocument::new()),
            Err(e) => Err(self.io(&self.path, e)),
        }
    }

    /// Reads the document under the store's lock, applies `change`, and
    /// writes the result if `change` succeeded. Returns what `change`
    /// returned.
    ///
    /// # Errors
    /// What [`load`](Self::load) returns, what `change` returns (the file is
    /// then untouched), or [`PolicyError::Io`] if locking or writing fails.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut PolicyDocument) -> Result<T, PolicyError>,
    ) -> Result<T, PolicyError> {
        if let Some(dir) = self.dir()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| self.io(dir, e))?;
        }
        let lock_path = self.sibling(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| self.io(&lock_path, e))?;
        lock.lock().map_err(|e| self.io(&lock_path, e))?;
        let mut doc = self.load()?;
        let value = change(&mut doc)?;
        self.write(&doc)?;
        // `lock` goes out of scope here: closing the file releases the lock.
        Ok(value)
    }

    fn write(&self, doc: &PolicyDocument) -> Result<(), PolicyError> {
        let tmp = self.sibling(".tmp");
        let result = (|| {
            let mut file = File::create(&tmp)?;
            file.write_all(doc.to_json().as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            // Make the rename itself durable where the platform allows.
            if let Some(dir) = self.dir()
                && let Ok(dir) = File::open(if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                })
            {
                let _ = dir.sync_all();
            }
            Ok(())
        })();
        result.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            self.io(&self.path, e)
        })
    }

    fn dir(&self) -> Option<&Path> {
        self.path.parent()
    }

    /// `PATH` + `suffix`, in the same folder (so a rename stays atomic).
    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.as_os_str().to_os_string();
        name.push(suffix);
        PathBuf::from(name)
    }

    fn io(&self, path: &Path, source: std::io::Error) -> PolicyError {
        PolicyError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
