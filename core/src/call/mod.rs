//! 1:1 calls: a hybrid (X25519 + ML-KEM-768) authenticated key agreement
//! over untrusted signalling, bound to the intended peer; the 20-digit
//! security code; key continuity; the media keys; and in-call rekeys for
//! post-compromise security and recovery (PROTOCOL.md §3).
//!
//! - [`CallSession`]: the sans-IO state machine, initiator or responder.
//! - [`CallConfig`], [`ExpectedPeer`]: what the app decides before a call.
//! - [`Handled`], [`Ignored`], [`MediaUpdate`]: what a received message gave.
//! - [`CallError`]: everything that can end or refuse a call.
//! - [`call_mode`], [`accept_plain_call`]: a call under a policy decision
//!   that is not end-to-end encrypted, shown on both sides, or refused.
//!
//! Identity keys, identity stores, the security code and entropy sources
//! are shared with meetings and live in [`crate::identity`].
//!
//! The initiator commits to its ephemeral key before it sees the responder's,
//! so a man in the middle gets one guess at equal codes, not a search. Every
//! secret comes from HKDF-SHA-256 over the whole transcript, and needs the
//! ML-KEM shared secret as well as the X25519 ones.
//!
//! ```
//! use callseal_core::call::{CallConfig, CallSession, CallState, ExpectedPeer};
//! use callseal_core::identity::{IdentityKeyPair, MemoryIdentityStore};
//!
//! let (alice, bob) = (IdentityKeyPair::generate()?, IdentityKeyPair::generate()?);
//! let mut store = MemoryIdentityStore::new();
//! let config = CallConfig::default();
//! let (mut a, commit) = CallSession::initiate_random(&alice, "alice", &ExpectedPeer::new("bob")?, &config)?;
//! let (mut b, response) = CallSession::respond_random(&bob, "bob", None, &commit, &config)?;
//! let reveal = a.handle(&response, &mut store)?.reply.ok_or("no reveal")?;
//! let confirm = b.handle(&reveal, &mut store)?.reply.ok_or("no confirm")?;
//! a.handle(&confirm, &mut store)?;
//! assert_eq!(a.security_code(), b.security_code());
//! assert_eq!(b.state(), CallState::Encrypted);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod error;
mod kem;
mod media;
mod message;
mod mode;
mod outcome;
mod schedule;
mod session;

pub use config::{CallConfig, DEFAULT_REKEY_EVERY_MS, ExpectedPeer};
pub use error::CallError;
pub use media::{
    INITIATOR_GENERATION, MEDIA_RATCHET_BITS, MediaUpdate, RESPONDER_GENERATION, media_generation,
};
pub use message::{MessageType, SessionId};
pub use mode::{CallMode, accept_plain_call, call_mode};
pub use outcome::{Handled, Ignored};
pub use session::{CallSession, CallState, Indicator, Role};
