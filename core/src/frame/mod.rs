//! RFC 9605 SFrame: encrypt and authenticate media frames end to end.
//!
//! - [`Header`]: the KID/CTR header, minimal encoding enforced both ways.
//! - [`CipherSuite`]: all registered suites, 0x0001–0x0008.
//! - [`BaseKey`]: a secret from which per-KID keys and salts are derived
//!   (RFC 9605 §4.4.2); zeroized on drop, redacted in `Debug`.
//! - [`Sender`]: one key, one KID, a counter that never repeats.
//! - [`Receiver`]: keys by KID, a replay window per key, a limit on the
//!   frames that may fail authentication under a key
//!   ([`CipherSuite::forgery_limit`], RFC 9605 §7.5), and §5.1 ratchet
//!   following ([`RatchetLayout`]).
//! - [`media`]: codec-aware media mode for WebRTC encoded frames.
//! - [`ExternalKey`], [`Sender::seal_external`], [`Receiver::open_external`]:
//!   AES-GCM run by a platform API (WebCrypto) while the core keeps keys,
//!   headers, nonces and replay windows.
//!
//! The hot path allocates nothing and derives no key: keys are expanded when
//! installed, [`Sender::encrypt_into`] writes into the caller's buffer and
//! [`Receiver::decrypt_in_place`] decrypts where the frame lies.
//!
//! ```
//! use callseal_core::frame::{BaseKey, CipherSuite, Kid, Receiver, ReceiverConfig, Sender};
//!
//! let suite = CipherSuite::AesCtr128HmacSha256_80;
//! let mut sender = Sender::new(suite, Kid(0x123), BaseKey::new(&[1; 16])?)?;
//! let mut receiver = Receiver::new(ReceiverConfig::default());
//! receiver.add_key(Kid(0x123), suite, BaseKey::new(&[1; 16])?)?;
//!
//! let mut frame = sender.encrypt(b"", b"opus packet")?;
//! let (header, payload) = receiver.decrypt_in_place(b"", &mut frame)?;
//! assert_eq!((header.kid, &payload[..]), (Kid(0x123), &b"opus packet"[..]));
//! # Ok::<(), callseal_core::frame::Error>(())
//! ```

mod aead;
mod error;
mod external;
mod header;
mod key;
pub mod media;
mod ratchet;
mod receiver;
mod replay;
mod sender;
mod suite;

#[cfg(test)]
mod rfc_vectors;

pub use aead::Tag;
pub use error::Error;
pub use external::{ExternalKey, ExternalOpen, ExternalSeal};
pub use header::{Counter, EncodedHeader, Header, Kid, MAX_HEADER_LEN};
pub use key::{BaseKey, MAX_BASE_KEY_LEN};
pub use ratchet::RatchetLayout;
pub use receiver::{MAX_RATCHET_STEPS, Receiver, ReceiverConfig};
pub use replay::MAX_REPLAY_WINDOW;
pub use sender::{Sealed, Sender};
pub use suite::CipherSuite;
