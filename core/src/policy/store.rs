//! The policy document in a file, safe against crashes and concurrent
//! writers.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::document::check_size;
use super::{MAX_DOCUMENT_BYTES, PolicyDocument, PolicyError};

/// A policy document kept in a JSON file.
///
/// - A missing file reads as [`PolicyDocument::new`]: only Global.
/// - [`update`](Self::update) holds an exclusive lock on `PATH.lock` while it
///   reads, changes and writes, so concurrent writers (other processes or
///   threads) lose no update. The lock file is opened without following a
///   symbolic link (on unix): a link planted there is an error, never a way
///   to create or truncate the file it points at.
/// - The new document goes to a temporary file `.NAME.<16 random hex>.tmp`
///   in the same folder, created fresh (never an existing file or link),
///   synced and renamed over the old one: a crash leaves the old or the new
///   file, never half.
/// - On unix a new store (and its lock file) is created with mode 0600; an
///   update keeps the old file's mode.
/// - `PATH` itself may be a symbolic link for reading; an update refuses
///   one (renaming would replace the link with a file).
/// - A file that does not parse, or is over the limits of docs/POLICY.md
///   (16 MiB, 100,000 entries of each kind), is reported as
///   [`PolicyError::Corrupt`] (or [`PolicyError::UnsupportedVersion`]) and
///   never overwritten.
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
    /// [`PolicyError::Io`], [`PolicyError::Corrupt`] (also for a file over
    /// [`MAX_DOCUMENT_BYTES`], which is not read whole),
    /// [`PolicyError::UnsupportedVersion`].
    pub fn load(&self) -> Result<PolicyDocument, PolicyError> {
        let mut options = OpenOptions::new();
        options.read(true);
        no_block(&mut options, true);
        let file = match options.open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(PolicyDocument::new()),
            Err(e) => return Err(self.io(&self.path, e)),
        };
        trusted(&file).map_err(|e| self.io(&self.path, e))?;
        // Read at most one byte past the limit: enough to know it is over.
        let mut bytes = Vec::new();
        file.take(MAX_DOCUMENT_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.io(&self.path, e))?;
        let corrupt = |why: String| PolicyError::Corrupt(format!("{}: {why}", self.path.display()));
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(corrupt(format!(
                "larger than the limit of {MAX_DOCUMENT_BYTES} bytes"
            )));
        }
        PolicyDocument::from_json(&bytes).map_err(|e| match e {
            PolicyError::Corrupt(why) => corrupt(why),
            other => other,
        })
    }

    /// Reads the document under the store's lock, applies `change`, and
    /// writes the result if `change` succeeded. Returns what `change`
    /// returned.
    ///
    /// # Errors
    /// What [`load`](Self::load) returns, what `change` returns (the file is
    /// then untouched), [`PolicyError::LimitReached`] when the changed
    /// document is over [`MAX_DOCUMENT_BYTES`] (nothing is written), or
    /// [`PolicyError::Io`] if locking or writing fails, the lock file is a
    /// symbolic link, or the store file is one.
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
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        no_follow(&mut options);
        no_block(&mut options, false);
        let lock = options
            .open(&lock_path)
            .map_err(|e| self.io(&lock_path, e))?;
        trusted(&lock).map_err(|e| self.io(&lock_path, e))?;
        lock.lock().map_err(|e| self.io(&lock_path, e))?;
        // The mode of the file being replaced; `None` for a new store.
        let old_permissions = match std::fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(self.io(
                    &self.path,
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "the store is a symbolic link; an update would replace it (name the file itself)",
                    ),
                ));
            }
            Ok(meta) => Some(meta.permissions()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(self.io(&self.path, e)),
        };
        let mut doc = self.load()?;
        let value = change(&mut doc)?;
        self.write(&doc, old_permissions)?;
        // `lock` goes out of scope here: closing the file releases the lock.
        Ok(value)
    }

    fn write(
        &self,
        doc: &PolicyDocument,
        old_permissions: Option<std::fs::Permissions>,
    ) -> Result<(), PolicyError> {
        let mut json = doc.to_json();
        json.push('\n');
        check_size(json.len())?;
        let tmp = self.temp_path()?;
        let result = (|| {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            no_follow(&mut options);
            let mut file = options.open(&tmp)?;
            #[cfg(unix)]
            if let Some(permissions) = old_permissions {
                // Set explicitly: the creation mode is cut by the umask.
                // Never writable by group or others (a trusted store is not).
                use std::os::unix::fs::PermissionsExt;
                let mode = permissions.mode() & 0o7755;
                file.set_permissions(std::fs::Permissions::from_mode(mode))?;
            }
            #[cfg(not(unix))]
            let _ = old_permissions;
            file.write_all(json.as_bytes())?;
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

    /// `.NAME.<16 random hex digits>.tmp` beside the store: a name nobody
    /// can plant a file or link at in advance.
    fn temp_path(&self) -> Result<PathBuf, PolicyError> {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| {
            self.io(
                &self.path,
                std::io::Error::other(format!("no randomness for the temporary file: {e}")),
            )
        })?;
        let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(self.path.with_file_name(format!(".{name}.{hex}.tmp")))
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

/// Opens without following a symbolic link at the last path component, and
/// creates with mode 0600 (unix; elsewhere the platform's defaults).
///
/// For the temporary file `create_new` alone already refuses any existing
/// name, a dangling link included (O_EXCL does not follow links); the lock
/// file is opened with plain create, so O_NOFOLLOW is what keeps a planted
/// link from creating or opening the file it points at.
/// Opens without blocking (a FIFO planted in place of a file must not hang
/// the admin's command; regular files behave the same), and, unless
/// `follow`, without following a symlink.
fn no_block(options: &mut OpenOptions, follow: bool) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let no_follow = if follow { 0 } else { libc::O_NOFOLLOW };
        options.custom_flags(no_follow | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    let _ = (options, follow);
}

/// A store or lock file this user may trust: a regular file, on unix owned
/// by this user (where the system says who that is: `/proc/self`) and not
/// writable by group or others. Anything else may have been planted by
/// another user in a shared folder.
fn trusted(file: &File) -> std::io::Result<()> {
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(me) = std::fs::metadata("/proc/self")
            && me.uid() != meta.uid()
        {
            return Err(std::io::Error::other(format!(
                "owned by user {}, not by this user ({})",
                meta.uid(),
                me.uid()
            )));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(std::io::Error::other(
                "writable by group or others: anyone could have changed it (chmod go-w)",
            ));
        }
    }
    Ok(())
}

fn no_follow(options: &mut OpenOptions) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW).mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = options;
}
