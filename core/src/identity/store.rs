//! Key continuity: where the app remembers its peers' identity keys
//! (PROTOCOL.md §3.7).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

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

/// An identity store in a JSON file: `{"peer uid": {"key": "<64 hex>",
/// "verified": bool}, ...}`.
///
/// The file is read once by [`open`](Self::open) and rewritten on each
/// [`put`](IdentityStore::put) through a temporary file and a rename, so a
/// crash leaves either the old or the new file, never half of one. A corrupt
/// file is an [`IdentityError`], never a panic.
///
/// ```
/// use callseal_core::identity::{FileIdentityStore, IdentityStore, StoredIdentity};
///
/// let path = std::env::temp_dir().join(format!("callseal-doc-{}.json", std::process::id()));
/// let mut store = FileIdentityStore::open(&path)?;
/// store.put("bob", StoredIdentity { public_key: [3; 32], verified: true })?;
/// let reopened = FileIdentityStore::open(&path)?;
/// assert_eq!(reopened.get("bob")?, store.get("bob")?);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FileIdentityStore {
    path: PathBuf,
    peers: BTreeMap<String, StoredIdentity>,
}

impl FileIdentityStore {
    /// Opens the store at `path`; a missing file is an empty store (the file
    /// is created on the first `put`).
    ///
    /// # Errors
    /// [`IdentityError::Io`] if the file cannot be read,
    /// [`IdentityError::Corrupt`] if it is not a store,
    /// [`IdentityError::InvalidKey`] if a key is not 64 hex digits.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, IdentityError> {
        let path = path.as_ref().to_path_buf();
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    path,
                    peers: BTreeMap::new(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let entries: BTreeMap<String, FileEntry> = serde_json::from_slice(&text)?;
        let peers = entries
            .into_iter()
            .map(|(peer, entry)| {
                let public_key = decode_hex(&entry.key).ok_or(IdentityError::InvalidKey)?;
                Ok((
                    peer,
                    StoredIdentity {
                        public_key,
                        verified: entry.verified,
                    },
                ))
            })
            .collect::<Result<_, IdentityError>>()?;
        Ok(Self { path, peers })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self, peers: &BTreeMap<String, StoredIdentity>) -> Result<(), IdentityError> {
        let entries: BTreeMap<&str, FileEntry> = peers
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
            .collect();
        let json = serde_json::to_vec_pretty(&entries)?;
        let mut tmp_name = self.path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp");
        let tmp = self.path.with_file_name(tmp_name);
        let result = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&json)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        Ok(result?)
    }
}

impl IdentityStore for FileIdentityStore {
    fn get(&self, peer: &str) -> Result<Option<StoredIdentity>, IdentityError> {
        Ok(self.peers.get(peer).copied())
    }

    fn put(&mut self, peer: &str, entry: StoredIdentity) -> Result<(), IdentityError> {
        let mut peers = self.peers.clone();
        peers.insert(peer.to_owned(), entry);
        self.write(&peers)?;
        self.peers = peers;
        Ok(())
    }
}

pub(super) fn encode_hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
        assert_eq!(decode_hex("00"), None);
        assert_eq!(decode_hex(&"g".repeat(64)), None);
        assert_eq!(decode_hex(&"+1".repeat(32)), None);
    }
}
