//! What 1:1 calls and meetings share: long-term identity keys, what the app
//! remembers about its peers, the 20-digit security code and where
//! randomness comes from.
//!
//! - [`IdentityKeyPair`]: a user's long-term X25519 key (PROTOCOL.md §3.2).
//! - [`IdentityStore`] ([`MemoryIdentityStore`], [`FileIdentityStore`]):
//!   key continuity, a peer's [`StoredIdentity`] (PROTOCOL.md §3.8).
//! - [`MemberKeyStore`] ([`MemoryMemberKeyStore`]): the meeting identity
//!   keys seen per user (PROTOCOL.md §4.9).
//! - [`PeerStatus`]: what a store says about a key: new, known, changed.
//! - [`SecurityCode`]: the code both screens show, for calls and meetings.
//! - [`Entropy`]: where randomness comes from ([`OsEntropy`] in production,
//!   `ScriptedEntropy` for conformance files, with the `conformance` feature).
//! - [`IdentityError`] and [`EntropyError`]: what can go wrong.
//!
//! ```
//! use callseal_core::identity::{
//!     IdentityKeyPair, IdentityStore, MemoryIdentityStore, OsEntropy, StoredIdentity,
//! };
//!
//! let key = IdentityKeyPair::generate_with(&mut OsEntropy)?;
//! let mut store = MemoryIdentityStore::new();
//! store.put("alice", StoredIdentity { public_key: key.public_key(), verified: false })?;
//! assert_eq!(store.get("alice")?.map(|e| e.public_key), Some(key.public_key()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod entropy;
mod error;
mod key;
mod member_store;
mod security_code;
mod status;
mod store;

#[cfg(any(test, feature = "conformance"))]
pub use entropy::ScriptedEntropy;
pub use entropy::{Entropy, OsEntropy};
pub use error::{EntropyError, IdentityError};
pub use key::IdentityKeyPair;
pub use member_store::{MemberKeyStore, MemoryMemberKeyStore};
pub use security_code::{InvalidSecurityCode, SECURITY_CODE_LEN, SecurityCode};
pub use status::PeerStatus;
pub use store::{
    FileIdentityStore, IdentityStore, MemoryIdentityStore, StoredIdentity, check_store_text,
};
