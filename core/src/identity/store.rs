//! Key continuity: where the app remembers its peers' identity keys
//! (PROTOCOL.md §3.8).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::ffi::OsString;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::error::IdentityError;

/// What a store remembers about one peer.
///
/// ```
/// use callseal_core::identity::StoredIdentity;
///
/// let entry = StoredIdentity { public_key: [1; 32], verified: false };
/// assert!(!entry.verified);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredIdentity {
    /// The peer's X25519 identity public key.
    pub public_key: [u8; 32],
    /// Whether the users compared security codes under this key.
    pub verified: bool,
}

impl StoredIdentity {
    /// An entry from the store's JSON form: the key as 64 hex digits (either
    /// case), and the flag.
    ///
    /// ```
    /// use callseal_core::identity::StoredIdentity;
    ///
    /// let entry = StoredIdentity::from_hex(&"0a".repeat(32), true)?;
    /// assert_eq!((entry.public_key, entry.key_hex()), ([10; 32], "0a".repeat(32)));
    /// assert!(StoredIdentity::from_hex("0a", true).is_err());
    /// # Ok::<(), callseal_core::identity::IdentityError>(())
    /// ```
    ///
    /// # Errors
    /// [`IdentityError::InvalidKey`] if `key` is not 64 hex digits.
    pub fn from_hex(key: &str, verified: bool) -> Result<Self, IdentityError> {
        let public_key = decode_hex(key).ok_or(IdentityError::InvalidKey)?;
        Ok(Self {
            public_key,
            verified,
        })
    }

    /// The key as 64 lowercase hex digits, as the store's JSON form has it.
    pub fn key_hex(&self) -> String {
        encode_hex(&self.public_key)
    }
}

/// Maps a peer's user id to its identity key and `verified` flag.
///
/// The app supplies one to
/// [`CallSession::handle`](crate::call::CallSession::handle) and
/// [`CallSession::mark_verified`](crate::call::CallSession::mark_verified).
///
/// ```
/// use callseal_core::identity::{IdentityStore, MemoryIdentityStore, StoredIdentity};
///
/// let mut store = MemoryIdentityStore::new();
/// store.put("bob", StoredIdentity { public_key: [2; 32], verified: true })?;
/// assert_eq!(store.get("bob")?.map(|e| e.verified), Some(true));
/// assert_eq!(store.get("carol")?, None);
/// # Ok::<(), callseal_core::identity::IdentityError>(())
/// ```
pub trait IdentityStore {
    /// The entry for `peer`, if any.
    ///
    /// # Errors
    /// Store-specific failures.
    fn get(&self, peer: &str) -> Result<Option<StoredIdentity>, IdentityError>;

    /// Records `entry` for `peer`, replacing any earlier one.
    ///
    /// # Errors
    /// Store-specific failures; the store is unchanged then.
    fn put(&mut self, peer: &str, entry: StoredIdentity) -> Result<(), IdentityError>;
}

/// An identity store in memory, for tests and short-lived apps.
///
/// ```
/// use callseal_core::identity::{IdentityStore, MemoryIdentityStore};
///
/// let store = MemoryIdentityStore::new();
/// assert!(store.get("alice")?.is_none());
/// # Ok::<(), callseal_core::identity::IdentityError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryIdentityStore {
    peers: BTreeMap<String, StoredIdentity>,
}

impl MemoryIdentityStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The peers in byte order of their ids, with what the store holds for each.
    ///
    /// ```
    /// use callseal_core::identity::{IdentityStore, MemoryIdentityStore, StoredIdentity};
    ///
    /// let mut store = MemoryIdentityStore::new();
    /// store.put("bob", StoredIdentity { public_key: [2; 32], verified: false })?;
    /// let peers: Vec<_> = store.iter().map(|(peer, e)| (peer, e.verified)).collect();
    /// assert_eq!(peers, [("bob", false)]);
    /// # Ok::<(), callseal_core::identity::IdentityError>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &StoredIdentity)> {
        self.peers
            .iter()
            .map(|(peer, entry)| (peer.as_str(), entry))
    }

    /// The store as JSON, in the form [`FileIdentityStore`] keeps on disk:
    /// `{"peer uid": {"key": "<64 lowercase hex>", "verified": bool}, ...}`,
    /// peers in byte order of their ids. Apps without a file system (a
    /// browser page) persist this and restore it with [`Self::from_json`].
    ///
    /// ```
    /// use callseal_core::identity::{IdentityStore, MemoryIdentityStore, StoredIdentity};
    ///
    /// let mut store = MemoryIdentityStore::new();
    /// store.put("bob", StoredIdentity { public_key: [0xab; 32], verified: true })?;
    /// let json = store.to_json()?;
    /// assert_eq!(json, format!(r#"{{"bob":{{"key":"{}","verified":true}}}}"#, "ab".repeat(32)));
    /// let again = MemoryIdentityStore::from_json(&json)?;
    /// assert_eq!(again.get("bob")?, store.get("bob")?);
    /// # Ok::<(), callseal_core::identity::IdentityError>(())
    /// ```
    ///
    /// # Errors
    /// [`IdentityError::Corrupt`] if serialization fails.
    pub fn to_json(&self) -> Result<String, IdentityError> {
        Ok(serde_json::to_string(&file_entries(&self.peers))?)
    }

    /// A store from [`Self::to_json`]'s form (or a [`FileIdentityStore`]
    /// file's contents). A peer listed twice, an unknown field or a missing
    /// one makes it corrupt: nothing of it is used.
    ///
    /// # Errors
    /// [`IdentityError::Corrupt`] if it is not a store's JSON,
    /// [`IdentityError::InvalidKey`] if a key is not 64 hex digits.
    pub fn from_json(json: &str) -> Result<Self, IdentityError> {
        Ok(Self {
            peers: parse_entries(json.as_bytes())?,
        })
    }
}

impl IdentityStore for MemoryIdentityStore {
    fn get(&self, peer: &str) -> Result<Option<StoredIdentity>, IdentityError> {
        Ok(self.peers.get(peer).copied())
    }

    fn put(&mut self, peer: &str, entry: StoredIdentity) -> Result<(), IdentityError> {
        self.peers.insert(peer.to_owned(), entry);
        Ok(())
    }
}

/// One peer in the JSON file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    key: String,
    verified: bool,
}

/// The file's top-level object, read in one pass (`O(n log n)` for `n`
/// peers); a peer listed twice makes the file corrupt rather than letting
/// one entry silently win.
struct FileEntries(BTreeMap<String, FileEntry>);

impl<'de> Deserialize<'de> for FileEntries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;

        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = FileEntries;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object mapping peer user ids to {key, verified}")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FileEntries, A::Error> {
                let mut entries = BTreeMap::new();
                while let Some((peer, entry)) = map.next_entry::<String, FileEntry>()? {
                    match entries.entry(peer) {
                        Entry::Vacant(slot) => {
                            slot.insert(entry);
                        }
                        Entry::Occupied(_) => {
                            return Err(de::Error::custom("a peer is listed twice"));
                        }
                    }
                }
                Ok(FileEntries(entries))
            }
        }

        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// Write attempts in this process, for unique temporary file names.
static WRITES: AtomicU64 = AtomicU64::new(0);

/// How many temporary names [`FileIdentityStore::put`] tries before giving
/// up (each one is new unless a crashed process left it behind).
const TEMP_ATTEMPTS: u32 = 16;

/// An identity store in a JSON file: `{"peer uid": {"key": "<64 hex>",
/// "verified": bool}, ...}`, safe against crashes and concurrent writers.
///
/// - Every [`get`](IdentityStore::get) reads the file as it is now, so an
///   instance sees what other instances and processes wrote. No lock is
///   needed for that: writers only ever replace the file by a rename, so a
///   reader sees the old or the new file, whole. (A read and parse of the
///   file is cheap next to a call handshake; a cache keyed by modification
///   time and length could miss two writes within the clock's granularity.)
/// - Every [`put`](IdentityStore::put) holds an exclusive lock on
///   `PATH.lock` ([`File::lock`]) while it re-reads the file, changes the
///   one entry and writes the result, so concurrent writers (processes,
///   threads, or several instances on the same file) lose no update: a
///   second instance cannot undo another's `mark_verified`, nor restore a
///   replaced key.
/// - The new contents go to a temporary file with a name of its own
///   (`PATH.tmp.<pid>.<n>`, created exclusively), which is synced and
///   renamed over `PATH`; the directory is then synced (best effort: the
///   rename already took effect). A crash leaves the old or the new file,
///   never half of one; on a failed write the temporary file is removed.
/// - On Unix the store file and the lock file are created with mode `0600`.
/// - A file that does not parse is an [`IdentityError`], never a panic, and
///   is never overwritten. The folder is not created: it must exist.
///
/// The store does not make a `get` followed by a `put` atomic: two
/// processes handshaking with the same new peer at the same moment may each
/// record it, the later write winning.
///
/// ```
/// use callseal_core::identity::{FileIdentityStore, IdentityStore, StoredIdentity};
///
/// let path = std::env::temp_dir().join(format!("callseal-doc-{}.json", std::process::id()));
/// let mut store = FileIdentityStore::open(&path)?;
/// let mut other = FileIdentityStore::open(&path)?;
/// store.put("bob", StoredIdentity { public_key: [3; 32], verified: true })?;
/// other.put("carol", StoredIdentity { public_key: [4; 32], verified: false })?;
/// let reopened = FileIdentityStore::open(&path)?;
/// assert_eq!(reopened.get("bob")?, store.get("bob")?);
/// assert_eq!(store.get("carol")?.map(|e| e.public_key), Some([4; 32]));
/// # std::fs::remove_file(&path)?;
/// # std::fs::remove_file(path.with_extension("json.lock"))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct FileIdentityStore {
    path: PathBuf,
}

impl FileIdentityStore {
    /// Opens the store at `path` and checks that its file, if any, is a
    /// store; a missing file is an empty store (the file is created on the
    /// first `put`). Nothing is written.
    ///
    /// # Errors
    /// [`IdentityError::Io`] if the file cannot be read,
    /// [`IdentityError::Corrupt`] if it is not a store,
    /// [`IdentityError::InvalidKey`] if a key is not 64 hex digits.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, IdentityError> {
        let store = Self {
            path: path.as_ref().to_path_buf(),
        };
        store.read()?;
        Ok(store)
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's current contents; a missing file is empty.
    fn read(&self) -> Result<BTreeMap<String, StoredIdentity>, IdentityError> {
        let text = match std::fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(e.into()),
        };
        parse_entries(&text)
    }

    /// Replaces the file by `peers`, through a new temporary file. The
    /// caller holds the lock.
    fn write(&self, peers: &BTreeMap<String, StoredIdentity>) -> Result<(), IdentityError> {
        let mut json = serde_json::to_vec_pretty(&file_entries(peers))?;
        json.push(b'\n');
        let (tmp, file) = self.create_temp()?;
        // The file is closed before the rename (which Windows needs).
        let result = write_synced(file, &json).and_then(|()| std::fs::rename(&tmp, &self.path));
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
        // Make the rename itself durable where the platform allows. The new
        // file is in place already, so a failure here is not reported: the
        // store did change.
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// A new, empty temporary file beside the store (so the rename stays
    /// within one file system), with a name no other writer uses.
    fn create_temp(&self) -> Result<(PathBuf, File), IdentityError> {
        let pid = std::process::id();
        let mut attempt = 0;
        loop {
            let n = WRITES.fetch_add(1, Ordering::Relaxed);
            let tmp = self.sibling(&format!(".tmp.{pid}.{n}"));
            match private(OpenOptions::new().write(true).create_new(true)).open(&tmp) {
                Ok(file) => return Ok((tmp, file)),
                // Left behind by a crashed process that had the same id.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    attempt += 1;
                    if attempt >= TEMP_ATTEMPTS {
                        return Err(e.into());
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Opens `PATH.lock` and takes its exclusive lock, released when the
    /// returned file is closed.
    fn lock(&self) -> Result<File, IdentityError> {
        let lock = private(OpenOptions::new().create(true).truncate(false).write(true))
            .open(self.sibling(".lock"))?;
        lock.lock()?;
        Ok(lock)
    }

    /// `PATH` + `suffix`, in the same folder.
    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = OsString::from(self.path.as_os_str());
        name.push(suffix);
        PathBuf::from(name)
    }
}

/// Checks a store's JSON text for what a lenient parser lets through
/// silently: a member named twice in one object (a peer listed twice: the
/// last one would win), or a structure that does not hold together. A
/// wrapper that parses the text with its platform's JSON parser (a
/// browser's `JSON.parse`) calls this first; [`MemoryIdentityStore::from_json`]
/// and [`FileIdentityStore`] refuse the same texts on their own.
///
/// ```
/// use callseal_core::identity::check_store_text;
///
/// let key = "00".repeat(32);
/// let once = format!(r#"{{"bob": {{"key": "{key}", "verified": true}}}}"#);
/// assert!(check_store_text(&once).is_ok());
/// let twice = format!(r#"{{"bob": {{"key": "{key}", "verified": true}}, "bob": {{"key": "{key}", "verified": false}}}}"#);
/// assert!(check_store_text(&twice).is_err());
/// ```
///
/// # Errors
/// [`IdentityError::NotStrict`], naming the problem.
pub fn check_store_text(json: &str) -> Result<(), IdentityError> {
    crate::strict_json::check(json.as_bytes()).map_err(|e| {
        IdentityError::NotStrict(match e {
            crate::strict_json::StrictJsonError::DuplicateKey(path) => {
                format!("{path} is listed twice")
            }
            crate::strict_json::StrictJsonError::Syntax(what) => what,
        })
    })
}

/// A store's JSON form (the file's, and [`MemoryIdentityStore::to_json`]'s)
/// parsed: a peer listed twice, an unknown or missing field, or a key that
/// is not 64 hex digits fails the whole text.
fn parse_entries(text: &[u8]) -> Result<BTreeMap<String, StoredIdentity>, IdentityError> {
    let FileEntries(entries) = serde_json::from_slice(text)?;
    entries
        .into_iter()
        .map(|(peer, entry)| Ok((peer, StoredIdentity::from_hex(&entry.key, entry.verified)?)))
        .collect()
}

/// The serializable form of `peers` (keys as lowercase hex).
fn file_entries(peers: &BTreeMap<String, StoredIdentity>) -> BTreeMap<&str, FileEntry> {
    peers
        .iter()
        .map(|(peer, e)| {
            (
                peer.as_str(),
                FileEntry {
                    key: encode_hex(&e.public_key),
                    verified: e.verified,
                },
            )
        })
        .collect()
}

/// Writes `bytes` to `file`, syncs it to disk and closes it.
fn write_synced(mut file: File, bytes: &[u8]) -> std::io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()
}

/// `options` with mode `0600` for a file it creates, on Unix.
fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

impl IdentityStore for FileIdentityStore {
    /// Reads the file as it is now (see the type's documentation).
    fn get(&self, peer: &str) -> Result<Option<StoredIdentity>, IdentityError> {
        Ok(self.read()?.get(peer).copied())
    }

    /// Under the lock: re-reads the file, sets `peer`'s entry, writes the
    /// result. A corrupt file is reported and left as it is.
    fn put(&mut self, peer: &str, entry: StoredIdentity) -> Result<(), IdentityError> {
        let _lock = self.lock()?;
        let mut peers = self.read()?;
        peers.insert(peer.to_owned(), entry);
        self.write(&peers)
        // `_lock` is dropped here: closing the file releases the lock.
    }
}

pub(super) fn encode_hex(bytes: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            out.push(char::from(DIGITS[usize::from(nibble)]));
        }
    }
    out
}

pub(super) fn decode_hex(text: &str) -> Option<[u8; 32]> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let [hi, lo] = [pair.first()?, pair.get(1)?].map(|d| char::from(*d).to_digit(16));
        *byte = u8::try_from(hi? << 4 | lo?).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects() {
        let key = core::array::from_fn(|i| i as u8 * 7);
        assert_eq!(decode_hex(&encode_hex(&key)), Some(key));
        assert_eq!(encode_hex(&[0xa5; 32]), "a5".repeat(32));
        assert_eq!(decode_hex("00"), None);
        assert_eq!(decode_hex(&"g".repeat(64)), None);
        assert_eq!(decode_hex(&"+1".repeat(32)), None);
    }

    #[test]
    fn memory_store_json_round_trip_and_rejects() {
        let mut store = MemoryIdentityStore::new();
        store
            .put(
                "bob",
                StoredIdentity {
                    public_key: [1; 32],
                    verified: true,
                },
            )
            .unwrap();
        store
            .put(
                "carol",
                StoredIdentity {
                    public_key: [2; 32],
                    verified: false,
                },
            )
            .unwrap();
        let again = MemoryIdentityStore::from_json(&store.to_json().unwrap()).unwrap();
        assert_eq!(again.peers, store.peers);
        assert_eq!(MemoryIdentityStore::from_json("{}").unwrap().peers.len(), 0);
        let key = "00".repeat(32);
        for bad in [
            String::new(),
            "[]".to_owned(),
            "{\"bob\": 1}".to_owned(),
            format!("{{\"bob\": {{\"key\": \"{key}\"}}}}"),
            format!("{{\"bob\": {{\"key\": \"{key}\", \"verified\": true, \"x\": 1}}}}"),
            format!(
                "{{\"bob\": {{\"key\": \"{key}\", \"verified\": true}}, \"bob\": {{\"key\": \"{key}\", \"verified\": false}}}}"
            ),
        ] {
            assert!(
                matches!(
                    MemoryIdentityStore::from_json(&bad),
                    Err(IdentityError::Corrupt(_))
                ),
                "{bad}"
            );
        }
        let short = "{\"bob\": {\"key\": \"00\", \"verified\": true}}";
        assert!(matches!(
            MemoryIdentityStore::from_json(short),
            Err(IdentityError::InvalidKey)
        ));
    }

    #[test]
    fn a_peer_listed_twice_is_corrupt() {
        let entry = format!("{{\"key\": \"{}\", \"verified\": true}}", "00".repeat(32));
        let twice = format!("{{\"bob\": {entry}, \"bob\": {entry}}}");
        assert!(serde_json::from_str::<FileEntries>(&twice).is_err());
        let once = format!("{{\"bob\": {entry}, \"carol\": {entry}}}");
        assert_eq!(
            serde_json::from_str::<FileEntries>(&once).unwrap().0.len(),
            2
        );
    }
}
