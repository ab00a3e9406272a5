//! Meeting identity continuity: the signature keys the app has seen for
//! each user (PROTOCOL.md §4.9).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{IdentityError, StoredIdentity};

/// Maps a user to the meeting identity keys (MLS signature keys, one per
/// device) seen for it, each with a `verified` flag.
///
/// A user may have several devices, so a user's entry is a list; a key not
/// in a known user's list is `changed` until the users compare the meeting
/// code.
///
/// ```
/// use callseal_core::identity::{MemberKeyStore, MemoryMemberKeyStore, StoredIdentity};
///
/// let mut store = MemoryMemberKeyStore::new();
/// store.put_key("bob", StoredIdentity { public_key: [1; 32], verified: false })?;
/// store.put_key("bob", StoredIdentity { public_key: [2; 32], verified: true })?;
/// store.put_key("bob", StoredIdentity { public_key: [1; 32], verified: true })?;
/// assert_eq!(store.keys("bob")?.len(), 2);
/// assert!(store.keys("bob")?.iter().all(|k| k.verified));
/// # Ok::<(), callseal_core::identity::IdentityError>(())
/// ```
pub trait MemberKeyStore {
    /// The keys stored for `user`, in the order first seen.
    ///
    /// # Errors
    /// Store-specific failures.
    fn keys(&self, user: &str) -> Result<Vec<StoredIdentity>, IdentityError>;

    /// Records `entry` for `user`: replaces the entry with the same key, or
    /// adds it.
    ///
    /// # Errors
    /// Store-specific failures; the store is unchanged then.
    fn put_key(&mut self, user: &str, entry: StoredIdentity) -> Result<(), IdentityError>;
}

/// A member key store in memory, with a JSON form for apps that persist it
/// themselves: `{"user": [{"key": "<64 hex>", "verified": bool}, ...]}`.
///
/// ```
/// use callseal_core::identity::{MemberKeyStore, MemoryMemberKeyStore, StoredIdentity};
///
/// let mut store = MemoryMemberKeyStore::new();
/// store.put_key("bob", StoredIdentity { public_key: [7; 32], verified: true })?;
/// let again = MemoryMemberKeyStore::from_json(&store.to_json()?)?;
/// assert_eq!(again.keys("bob")?, store.keys("bob")?);
/// # Ok::<(), callseal_core::identity::IdentityError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryMemberKeyStore {
    users: BTreeMap<String, Vec<StoredIdentity>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonKey {
    key: String,
    verified: bool,
}

impl MemoryMemberKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The store as JSON.
    ///
    /// # Errors
    /// [`IdentityError::Corrupt`] if serialization fails.
    pub fn to_json(&self) -> Result<String, IdentityError> {
        let users: BTreeMap<&str, Vec<JsonKey>> = self
            .users
            .iter()
            .map(|(user, keys)| {
                let keys = keys
                    .iter()
                    .map(|k| JsonKey {
                        key: super::store::encode_hex(&k.public_key),
                        verified: k.verified,
                    })
                    .collect();
                (user.as_str(), keys)
            })
            .collect();
        Ok(serde_json::to_string(&users)?)
    }

    /// A store from its JSON form.
    ///
    /// # Errors
    /// [`IdentityError::Corrupt`] if it is not a store's JSON,
    /// [`IdentityError::InvalidKey`] if a key is not 64 hex digits.
    pub fn from_json(json: &str) -> Result<Self, IdentityError> {
        let parsed: BTreeMap<String, Vec<JsonKey>> = serde_json::from_str(json)?;
        let mut store = Self::new();
        for (user, keys) in parsed {
            for k in keys {
                let public_key =
                    super::store::decode_hex(&k.key).ok_or(IdentityError::InvalidKey)?;
                store.put_key(
                    &user,
                    StoredIdentity {
                        public_key,
                        verified: k.verified,
                    },
                )?;
            }
        }
        Ok(store)
    }
}

impl MemberKeyStore for MemoryMemberKeyStore {
    fn keys(&self, user: &str) -> Result<Vec<StoredIdentity>, IdentityError> {
        Ok(self.users.get(user).cloned().unwrap_or_default())
    }

    fn put_key(&mut self, user: &str, entry: StoredIdentity) -> Result<(), IdentityError> {
        let keys = self.users.entry(user.to_owned()).or_default();
        match keys.iter_mut().find(|k| k.public_key == entry.public_key) {
            Some(existing) => *existing = entry,
            None => keys.push(entry),
        }
        Ok(())
    }
}
