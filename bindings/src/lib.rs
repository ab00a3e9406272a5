//! callseal-ffi: the UniFFI wrapper of `callseal-core` for Kotlin, Swift and
//! Python.
//!
//! This crate only translates: bytes in and out, integers, strings, and one
//! error enum. Every check, default and limit lives in the core. The surface
//! is the one `docs/BINDINGS.md` defines, the same as the wasm package's:
//!
//! - [`version`];
//! - frames: [`FrameSender`], [`FrameReceiver`];
//! - media mode: [`MediaSender`], [`MediaReceiver`], [`DecryptedFrame`];
//! - 1:1 calls: [`IdentityKeyPair`], [`IdentityStore`], [`CallSession`]
//!   (started by [`initiate_call`] / [`respond_to_call`] with an
//!   [`ExpectedPeer`] and a [`CallConfig`], which return a [`CallStart`];
//!   [`CallSession::handle`] returns [`Handled`], whose [`MediaUpdate`] the
//!   app applies to the [`CallMedia`] after an in-call rekey),
//!   [`CallState`], [`Indicator`], [`PeerStatus`];
//! - policy: [`PolicyDocument`] with its [`CallDecision`] and
//!   [`MeetingDecision`], signed by the admin's [`PolicySigningKey`] and
//!   checked into a [`VerifiedPolicy`] with the tenant key,
//!   [`check_call_feature`], [`check_meeting_feature`], [`call_mode`] (a
//!   [`CallMode`]) and [`accept_plain_call`], and
//!   [`initiate_call_with_policy`] / [`respond_to_call_with_policy`] (which,
//!   like the meeting sessions, take a [`VerifiedPolicy`] only);
//! - meetings: [`MeetingClient`], [`MeetingSession`] and their records
//!   ([`CommitMessages`], [`Batch`], [`EpochChange`], [`MeetingMember`] with
//!   its [`Role`], [`RosterEntry`] with its [`IdentityStatus`]), and the
//!   [`MemberKeyStore`] behind the roster's identity statuses;
//! - errors: [`CallsealError`], one variant per
//!   [`ErrorKind`](callseal_core::ErrorKind).
//!
//! The Cargo feature `conformance` (off by default, never in a shipping
//! build) adds the fixed-randomness `initiate_call_scripted`,
//! `respond_to_call_scripted`, `CallSession::rekey_scripted` and
//! `CallSession::handle_scripted` for the conformance replays, and
//! `error_codes` for the wrappers' error-code tests.
//!
//! Every object is `Send + Sync` (its state sits behind a mutex), so the
//! foreign side may share it between threads. No panic crosses the
//! boundary: each call runs under `catch_unwind` and a panic surfaces as
//! [`CallsealError::Internal`].
//!
//! ```
//! use callseal_ffi::{FrameReceiver, FrameSender};
//!
//! let sender = FrameSender::new(4, 7, vec![0x42; 16])?;
//! let receiver = FrameReceiver::new();
//! receiver.add_key(7, 4, vec![0x42; 16])?;
//! let frame = sender.encrypt(b"meta".to_vec(), b"hello".to_vec())?;
//! assert_eq!(receiver.decrypt(b"meta".to_vec(), frame)?, b"hello");
//! # Ok::<(), callseal_ffi::CallsealError>(())
//! ```

mod call;
mod error;
mod frame;
mod guard;
mod media;
mod meeting;
mod policy;

pub use call::{
    CallConfig, CallMedia, CallSession, CallStart, CallState, ExpectedPeer, Handled,
    IdentityKeyPair, IdentityStore, Indicator, MediaUpdate, PeerStatus, initiate_call,
    respond_to_call,
};
#[cfg(feature = "conformance")]
pub use call::{initiate_call_scripted, respond_to_call_scripted};
pub use error::CallsealError;
#[cfg(feature = "conformance")]
pub use error::error_codes;
pub use frame::{FrameReceiver, FrameSender};
pub use media::{DecryptedFrame, MediaReceiver, MediaSender};
pub use meeting::{
    Batch, CommitMessages, EpochChange, IdentityStatus, MeetingClient, MeetingFrame, MeetingMember,
    MeetingReceived, MeetingSession, MemberKeyStore, Role, RosterEntry,
};
pub use policy::{
    CallDecision, CallMode, MeetingDecision, MeetingParticipant, PolicyDocument, PolicySigningKey,
    Refusal, VerifiedPolicy, accept_plain_call, call_mode, check_call_feature,
    check_meeting_feature, initiate_call_with_policy, respond_to_call_with_policy,
};

uniffi::setup_scaffolding!("callseal");

/// The version of callseal (the core and this wrapper share it).
///
/// ```
/// assert_eq!(callseal_ffi::version(), env!("CARGO_PKG_VERSION"));
/// ```
#[uniffi::export]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
