//! 1:1 calls: an authenticated X25519 key agreement over untrusted
//! signalling, the 20-digit security code, key continuity and the media keys
//! (PROTOCOL.md §3).
//!
//! - [`CallSession`]: the sans-IO handshake, initiator or responder.
//! - [`CallError`]: everything that can end or refuse a call.
//!
//! Identity keys, identity stores, the security code and entropy sources
//! are shared with meetings and live in [`crate::identity`].
//!
//! The initiator commits to its ephemeral key before it sees the responder's,
//! so a man in the middle gets one guess at equal codes, not a search. Every
//! secret comes from HKDF-SHA-256 over the whole transcript.
//!
//! ```
//! use callseal_core::call::{CallSession, CallState};
//! use callseal_core::frame::CipherSuite;
//! use callseal_core::identity::{IdentityKeyPair, MemoryIdentityStore};
//!
//! let (alice, bob) = (IdentityKeyPair::generate()?, IdentityKeyPair::generate()?);
//! let mut store = MemoryIdentityStore::new();
//! let (mut a, commit) = CallSession::initiate_random(&alice, "alice", CipherSuite::AesGcm128Sha256)?;
//! let (mut b, response) = CallSession::respond_random(&bob, "bob", &commit)?;
//! let reveal = a.handle(&response, &mut store)?.ok_or("no reveal")?;
//! let confirm = b.handle(&reveal, &mut store)?.ok_or("no confirm")?;
//! a.handle(&confirm, &mut store)?;
//! assert_eq!(a.security_code(), b.security_code());
//! assert_eq!(b.state(), CallState::Encrypted);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod message;
mod schedule;
mod session;

pub use error::CallError;
pub use message::{MessageType, SessionId};
pub use session::{
    CallSession, CallState, INITIATOR_GENERATION, Indicator, MEDIA_RATCHET_BITS,
    RESPONDER_GENERATION, Role,
};
