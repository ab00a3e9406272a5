//! callseal-core: the one Rust core behind callseal's end-to-end encrypted
//! calls and meetings.
//!
//! The core is sans-IO: callers hand in bytes and get bytes back; it reads no
//! clock, starts no thread and opens no socket. The wrappers (WebAssembly,
//! UniFFI for Kotlin, Swift and Python) are thin translations of this API.
//!
//! Today it holds the [`frame`] layer: RFC 9605 SFrame with every registered
//! cipher suite, per-key replay windows, the §5.1 sender-key ratchet and a
//! codec-aware media mode for WebRTC encoded frames; [`call`]: the 1:1 call
//! handshake that feeds it keys; [`meeting`]: MLS-keyed meetings; and
//! [`identity`]: what both share, identity keys, key continuity, the
//! security code and entropy sources.
//!
//! ```
//! use callseal_core::frame::{BaseKey, CipherSuite, Kid, Receiver, ReceiverConfig, Sender};
//!
//! let suite = CipherSuite::AesGcm128Sha256;
//! let mut alice = Sender::new(suite, Kid(7), BaseKey::new(&[0x42; 16])?)?;
//! let mut bob = Receiver::new(ReceiverConfig::default());
//! bob.add_key(Kid(7), suite, BaseKey::new(&[0x42; 16])?)?;
//!
//! let frame = alice.encrypt(b"rtp-metadata", b"hello")?;
//! assert_eq!(bob.decrypt(b"rtp-metadata", &frame)?, b"hello");
//! # Ok::<(), callseal_core::frame::Error>(())
//! ```

pub mod call;
mod error_kind;
pub mod frame;
pub mod identity;
pub mod meeting;
pub mod policy;
mod strict_json;

pub use error_kind::ErrorKind;
