//! Media mode: SFrame for WebRTC encoded frames, codec-aware.
//!
//! WebRTC packetizes an encoded frame after an encoded transform encrypted
//! it, and some packetizers, depacketizers and SFUs read codec bytes: the
//! H.264 depacketizer parses SPS, PPS and slice headers, the VP8 one reads
//! the key-frame flag and dimensions, the AV1 packetizer walks OBUs. Media
//! mode keeps exactly those bytes clear, encrypts the rest with the frame's
//! SFrame key, and authenticates everything: the codec, the layout (which
//! bytes are clear, where) and every clear byte go into the SFrame metadata.
//!
//! ```text
//! output = codec-shaped interleaving of clear bytes and ciphertext
//!          || tag || SFrame header || footer
//! ```
//!
//! For H.264/H.265 the ciphertext and the suffix are escaped with
//! emulation prevention so no start code can appear; for AV1 the suffix is
//! an OBU of its own. The footer byte names the codec and the header length,
//! so a [`MediaReceiver`] needs no signalling. The format is specified in
//! `docs/PROTOCOL.md`, section "Media mode".
//!
//! ```
//! use callseal_core::frame::media::{Codec, MediaReceiver, MediaSender};
//! use callseal_core::frame::{BaseKey, CipherSuite, Kid, Receiver, ReceiverConfig, Sender};
//!
//! let suite = CipherSuite::AesGcm128Sha256;
//! let mut sender = MediaSender::new(Sender::new(suite, Kid(9), BaseKey::new(&[5; 16])?)?);
//! let mut receiver = MediaReceiver::new(Receiver::new(ReceiverConfig::default()));
//! receiver.receiver_mut().add_key(Kid(9), suite, BaseKey::new(&[5; 16])?)?;
//!
//! // An AV1 temporal unit: temporal delimiter, sequence header, frame OBU.
//! let frame = [0x12, 0x00, 0x0a, 0x03, 0x00, 0x00, 0x00, 0x32, 0x03, 0x10, 0x20, 0x30];
//! let (mut protected, mut decrypted) = (Vec::new(), Vec::new());
//! sender.encrypt_frame(Codec::Av1, &frame, &mut protected)?;
//! // The temporal delimiter is dropped (as the packetizer would), the
//! // sequence header and the frame OBU's header and size stay clear.
//! assert_eq!(protected[..7], frame[2..9]);
//!
//! let info = receiver.decrypt_frame(&protected, &mut decrypted)?;
//! assert_eq!(info.codec, Codec::Av1);
//! assert_eq!(decrypted, frame[2..]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod annexb;
mod av1;
mod codec;
mod error;
mod escape;
mod external;
mod footer;
mod h26x;
mod layout;
mod metadata;
mod receiver;
mod scratch;
mod sender;
mod vp8;

pub use codec::Codec;
pub use error::{Malformed, MediaError};
pub use external::{HEAD_LEN, MediaOpen, MediaSeal, TAIL_LEN, is_contiguous};
pub use layout::MAX_UNITS;
pub use receiver::{DecryptedFrame, MediaReceiver};
pub use sender::MediaSender;
