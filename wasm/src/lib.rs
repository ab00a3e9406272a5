//! callseal-wasm: the WebAssembly wrapper of `callseal-core`, published as
//! the npm package `callseal`.
//!
//! This crate is a translation layer and nothing else: it maps JavaScript
//! values (`Uint8Array`, `bigint`, strings) to the core's types, the core's
//! errors to a JavaScript `CallsealError` with a stable `code`
//! ([`callseal_core::ErrorKind::code`]), and ownership to objects with
//! `free()` and `Symbol.dispose`. Every decision — checks, defaults,
//! limits — is made by the core. The surface is the one of
//! `docs/BINDINGS.md`; the TypeScript API is documented in `wasm/README.md`.
//!
//! - [`FrameSender`], [`FrameReceiver`]: RFC 9605 SFrame frames.
//! - [`MediaSender`], [`MediaReceiver`]: media mode for WebRTC encoded frames.
//! - [`IdentityKeyPair`], [`IdentityStore`], [`CallSession`], [`MediaUpdate`]:
//!   the 1:1 call (hybrid X25519 + ML-KEM-768 handshake with an intended
//!   peer), its security code, its media keys and their in-call rekeys.
//!   With the Cargo feature `conformance` (never in the shipped package),
//!   also the fixed-randomness `initiateScripted`, `respondScripted`,
//!   `rekeyScripted` and `handleScripted` that replay the conformance files.
//! - [`PolicyDocument`], [`check_call_feature`], [`check_meeting_feature`]:
//!   policy decisions and feature gating; [`VerifiedPolicy`] (a signed
//!   document, verified: what calls and meetings under a policy take) and
//!   [`PolicySigningKey`]; [`call_mode`] and [`accept_plain_call`]
//!   (downgrades); [`initiate_call_with_policy`].
//! - [`MeetingClient`], [`MeetingSession`], [`MemberKeyStore`]: meetings over
//!   MLS, their roles and the members' identity statuses.
//!
//! No panic is reachable from input (the core denies `unwrap`, `expect` and
//! `panic` and is fuzzed); should a bug panic anyway, [`error::guard`] and
//! the panic hook installed at start-up turn it into a `CallsealError` with
//! code `internal` (see `error.rs` for what each build can promise).

#[cfg(feature = "calls")]
mod call;
#[cfg(feature = "calls")]
mod call_policy;
mod convert;
mod error;
#[cfg(feature = "calls")]
mod frame;
#[cfg(feature = "calls")]
mod media;
#[cfg(feature = "calls")]
mod media_external;
#[cfg(feature = "meetings")]
mod meeting;
mod policy;
mod policy_signed;

use wasm_bindgen::prelude::wasm_bindgen;

#[cfg(feature = "calls")]
pub use call::{CallSession, IdentityKeyPair, IdentityStore, MediaUpdate};
#[cfg(feature = "calls")]
pub use call_policy::{initiate_call_with_policy, respond_to_call_with_policy};
pub use error::Failure;
#[cfg(feature = "calls")]
pub use frame::{FrameReceiver, FrameSender};
#[cfg(feature = "calls")]
pub use media::{MediaReceiver, MediaSender};
#[cfg(feature = "meetings")]
pub use meeting::{MeetingClient, MeetingSession, MemberKeyStore};
pub use policy::{PolicyDocument, check_call_feature, check_meeting_feature};
pub use policy_signed::{PolicySigningKey, VerifiedPolicy, accept_plain_call, call_mode};

/// The version of callseal. The wrapper and the core share the workspace's
/// version, so this is the core's version too.
///
/// ```
/// assert_eq!(callseal_wasm::version(), env!("CARGO_PKG_VERSION"));
/// ```
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
