//! Wire format of the call messages, version 2 (PROTOCOL.md §3.3).
//!
//! ```text
//! version (1) = 0x02 | type (1) | session_id (16) | body
//! Commit      (I → R): suite (u16) | len | uid_I | len | to | IK_I.pub (32) | KEM_ek_I (1184) | commitment (32)
//! Response    (R → I): len | uid_R | IK_R.pub (32) | EK_R.pub (32) | KEM_ct (1088)
//! Reveal      (I → R): EK_I.pub (32) | mac_I (32)
//! Confirm     (R → I): mac_R (32)
//! RekeyOffer  (O → A): epoch (u32) | E_O.pub (32) | KEM_ek_O (1184) | mac (32)
//! RekeyAnswer (A → O): epoch (u32) | E_A.pub (32) | KEM_ct (1088) | mac (32)
//! RekeyDone   (O → A): epoch (u32) | mac (32)
//! ```
//!
//! Every length is exact: a byte missing or left over is `Malformed`.

use super::error::CallError;
use super::kem::{CT_LEN, EK_LEN};

/// The protocol version this module speaks.
pub(crate) const VERSION: u8 = 0x02;
/// Version, type and session id.
pub(crate) const HEADER_LEN: usize = 18;
/// Length of X25519 public keys, commitments and MACs.
pub(crate) const KEY_LEN: usize = 32;
/// Length of the MAC that ends every rekey message.
pub(crate) const MAC_LEN: usize = 32;

/// The 16 random bytes that name one call, chosen by the initiator.
///
/// ```
/// use callseal_core::call::SessionId;
///
/// let id = SessionId([0xab; 16]);
/// assert_eq!(id.to_string(), "abababababababababababababababab");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub [u8; 16]);

impl core::fmt::Display for SessionId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// The type byte of a call message.
///
/// ```
/// use callseal_core::call::MessageType;
///
/// assert_eq!(MessageType::from_byte(0x03), Some(MessageType::Reveal));
/// assert_eq!(MessageType::RekeyDone as u8, 0x07);
/// assert_eq!(MessageType::from_byte(0x08), None);
/// assert!(MessageType::RekeyOffer.is_rekey());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    /// I → R: suite, user ids, identity key, ML-KEM key, commitment.
    Commit = 0x01,
    /// R → I: responder's user id, identity key, ephemeral key, ML-KEM
    /// ciphertext.
    Response = 0x02,
    /// I → R: initiator's ephemeral key and MAC.
    Reveal = 0x03,
    /// R → I: responder's MAC.
    Confirm = 0x04,
    /// In call, the offerer starts a rekey: epoch, ephemerals, MAC.
    RekeyOffer = 0x05,
    /// In call, the answerer's half of a rekey: epoch, ephemeral, ML-KEM
    /// ciphertext, MAC.
    RekeyAnswer = 0x06,
    /// In call, the offerer confirms the new epoch.
    RekeyDone = 0x07,
}

impl MessageType {
    /// The type for a type byte, if it is one.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0x01 => Some(Self::Commit),
            0x02 => Some(Self::Response),
            0x03 => Some(Self::Reveal),
            0x04 => Some(Self::Confirm),
            0x05 => Some(Self::RekeyOffer),
            0x06 => Some(Self::RekeyAnswer),
            0x07 => Some(Self::RekeyDone),
            _ => None,
        }
    }

    /// Whether this is one of the three in-call rekey messages.
    pub fn is_rekey(self) -> bool {
        matches!(self, Self::RekeyOffer | Self::RekeyAnswer | Self::RekeyDone)
    }
}

/// A decoded message: its type, session and body (borrowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Envelope<'a> {
    pub(crate) kind: MessageType,
    pub(crate) session_id: SessionId,
    pub(crate) body: &'a [u8],
}

/// Splits the 18-byte header off a message.
pub(crate) fn open(msg: &[u8]) -> Result<Envelope<'_>, CallError> {
    let version = *msg.first().ok_or(CallError::Malformed("empty message"))?;
    if version != VERSION {
        return Err(CallError::UnsupportedVersion(version));
    }
    let (header, body) = msg
        .split_at_checked(HEADER_LEN)
        .ok_or(CallError::Malformed("message shorter than its header"))?;
    let kind = header
        .get(1)
        .copied()
        .and_then(MessageType::from_byte)
        .ok_or(CallError::Malformed("unknown message type"))?;
    let mut r = Reader(header.get(2..).unwrap_or(&[]));
    let session_id = SessionId(r.array()?);
    Ok(Envelope {
        kind,
        session_id,
        body,
    })
}

fn header(kind: MessageType, session_id: &SessionId, body_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body_len);
    out.push(VERSION);
    out.push(kind as u8);
    out.extend_from_slice(&session_id.0);
    out
}

/// Reads fields off the front of a body.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], CallError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(CallError::Malformed("message truncated"))?;
        self.0 = rest;
        Ok(*head)
    }

    /// A length-prefixed user id (1–255 bytes of UTF-8).
    fn uid(&mut self) -> Result<&'a str, CallError> {
        let [len] = self.array::<1>()?;
        if len == 0 {
            return Err(CallError::Malformed("empty user id"));
        }
        let (uid, rest) = self
            .0
            .split_at_checked(usize::from(len))
            .ok_or(CallError::Malformed("message truncated"))?;
        self.0 = rest;
        core::str::from_utf8(uid).map_err(|_| CallError::Malformed("user id is not UTF-8"))
    }

    fn end(self) -> Result<(), CallError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(CallError::Malformed("trailing bytes after message body"))
        }
    }
}

/// Checks that a user id fits the wire format.
pub(crate) fn check_uid(uid: &str) -> Result<u8, CallError> {
    match u8::try_from(uid.len()) {
        Ok(len) if len > 0 => Ok(len),
        _ => Err(CallError::InvalidUserId),
    }
}

fn push_uid(out: &mut Vec<u8>, uid: &str) -> Result<(), CallError> {
    out.push(check_uid(uid)?);
    out.extend_from_slice(uid.as_bytes());
    Ok(())
}

/// Body of a Commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Commit<'a> {
    pub(crate) suite: u16,
    pub(crate) uid: &'a str,
    pub(crate) to: &'a str,
    pub(crate) identity: [u8; KEY_LEN],
    pub(crate) kem_ek: Box<[u8; EK_LEN]>,
    pub(crate) commitment: [u8; KEY_LEN],
}

impl<'a> Commit<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self, CallError> {
        let mut r = Reader(body);
        let suite = u16::from_be_bytes(r.array()?);
        let uid = r.uid()?;
        let to = r.uid()?;
        let identity = r.array()?;
        let kem_ek = Box::new(r.array()?);
        let commitment = r.array()?;
        r.end()?;
        Ok(Self {
            suite,
            uid,
            to,
            identity,
            kem_ek,
            commitment,
        })
    }

    pub(crate) fn encode(&self, session_id: &SessionId) -> Result<Vec<u8>, CallError> {
        let len = 4 + self.uid.len() + self.to.len() + 2 * KEY_LEN + EK_LEN;
        let mut out = header(MessageType::Commit, session_id, len);
        out.extend_from_slice(&self.suite.to_be_bytes());
        push_uid(&mut out, self.uid)?;
        push_uid(&mut out, self.to)?;
        out.extend_from_slice(&self.identity);
        out.extend_from_slice(&self.kem_ek[..]);
        out.extend_from_slice(&self.commitment);
        Ok(out)
    }
}

/// Body of a Response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response<'a> {
    pub(crate) uid: &'a str,
    pub(crate) identity: [u8; KEY_LEN],
    pub(crate) ephemeral: [u8; KEY_LEN],
    pub(crate) kem_ct: Box<[u8; CT_LEN]>,
}

impl<'a> Response<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self, CallError> {
        let mut r = Reader(body);
        let uid = r.uid()?;
        let identity = r.array()?;
        let ephemeral = r.array()?;
        let kem_ct = Box::new(r.array()?);
        r.end()?;
        Ok(Self {
            uid,
            identity,
            ephemeral,
            kem_ct,
        })
    }

    pub(crate) fn encode(&self, session_id: &SessionId) -> Result<Vec<u8>, CallError> {
        let len = 1 + self.uid.len() + 2 * KEY_LEN + CT_LEN;
        let mut out = header(MessageType::Response, session_id, len);
        push_uid(&mut out, self.uid)?;
        out.extend_from_slice(&self.identity);
        out.extend_from_slice(&self.ephemeral);
        out.extend_from_slice(&self.kem_ct[..]);
        Ok(out)
    }
}

/// Body of a Reveal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reveal {
    pub(crate) ephemeral: [u8; KEY_LEN],
    pub(crate) mac: [u8; KEY_LEN],
}

impl Reveal {
    pub(crate) fn decode(body: &[u8]) -> Result<Self, CallError> {
        let mut r = Reader(body);
        let ephemeral = r.array()?;
        let mac = r.array()?;
        r.end()?;
        Ok(Self { ephemeral, mac })
    }

    pub(crate) fn encode(&self, session_id: &SessionId) -> Vec<u8> {
        let mut out = header(MessageType::Reveal, session_id, 2 * KEY_LEN);
        out.extend_from_slice(&self.ephemeral);
        out.extend_from_slice(&self.mac);
        out
    }
}

/// Body of a Confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Confirm {
    pub(crate) mac: [u8; KEY_LEN],
}

impl Confirm {
    pub(crate) fn decode(body: &[u8]) -> Result<Self, CallError> {
        let mut r = Reader(body);
        let mac = r.array()?;
        r.end()?;
        Ok(Self { mac })
    }

    pub(crate) fn encode(&self, session_id: &SessionId) -> Vec<u8> {
        let mut out = header(MessageType::Confirm, session_id, KEY_LEN);
        out.extend_from_slice(&self.mac);
        out
    }
}

/// The public part of a rekey message (everything but the trailing MAC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rekey {
    /// `epoch | E_O.pub | KEM_ek_O`.
    Offer {
        epoch: u32,
        ephemeral: [u8; KEY_LEN],
        kem_ek: Box<[u8; EK_LEN]>,
    },
    /// `epoch | E_A.pub | KEM_ct`.
    Answer {
        epoch: u32,
        ephemeral: [u8; KEY_LEN],
        kem_ct: Box<[u8; CT_LEN]>,
    },
    /// `epoch`.
    Done { epoch: u32 },
}

impl Rekey {
    /// The epoch the message is about.
    pub(crate) fn epoch(&self) -> u32 {
        match self {
            Self::Offer { epoch, .. } | Self::Answer { epoch, .. } | Self::Done { epoch } => *epoch,
        }
    }

    /// Decodes a rekey body into its fields and its MAC.
    pub(crate) fn decode(
        kind: MessageType,
        body: &[u8],
    ) -> Result<(Self, [u8; MAC_LEN]), CallError> {
        let mut r = Reader(body);
        let epoch = u32::from_be_bytes(r.array()?);
        let message = match kind {
            MessageType::RekeyOffer => Self::Offer {
                epoch,
                ephemeral: r.array()?,
                kem_ek: Box::new(r.array()?),
            },
            MessageType::RekeyAnswer => Self::Answer {
                epoch,
                ephemeral: r.array()?,
                kem_ct: Box::new(r.array()?),
            },
            MessageType::RekeyDone => Self::Done { epoch },
            _ => return Err(CallError::Malformed("not a rekey message")),
        };
        let mac = r.array()?;
        r.end()?;
        Ok((message, mac))
    }

    /// The message bytes up to (not including) the MAC; the caller appends
    /// the MAC computed over them.
    pub(crate) fn encode_unsigned(&self, session_id: &SessionId) -> Vec<u8> {
        let (kind, len) = match self {
            Self::Offer { .. } => (MessageType::RekeyOffer, 4 + KEY_LEN + EK_LEN + MAC_LEN),
            Self::Answer { .. } => (MessageType::RekeyAnswer, 4 + KEY_LEN + CT_LEN + MAC_LEN),
            Self::Done { .. } => (MessageType::RekeyDone, 4 + MAC_LEN),
        };
        let mut out = header(kind, session_id, len);
        out.extend_from_slice(&self.epoch().to_be_bytes());
        match self {
            Self::Offer {
                ephemeral, kem_ek, ..
            } => {
                out.extend_from_slice(ephemeral);
                out.extend_from_slice(&kem_ek[..]);
            }
            Self::Answer {
                ephemeral, kem_ct, ..
            } => {
                out.extend_from_slice(ephemeral);
                out.extend_from_slice(&kem_ct[..]);
            }
            Self::Done { .. } => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn assert_exact<T: core::fmt::Debug>(
        body: &[u8],
        decode: impl Fn(&[u8]) -> Result<T, CallError>,
    ) {
        assert!(decode(body).is_ok());
        for cut in 0..body.len() {
            assert!(
                matches!(decode(&body[..cut]), Err(CallError::Malformed(_))),
                "cut at {cut}"
            );
        }
        let mut longer = body.to_vec();
        longer.push(0);
        assert!(matches!(decode(&longer), Err(CallError::Malformed(_))));
    }

    #[test]
    fn commit_round_trip_and_exact_length() {
        let sid = SessionId([7; 16]);
        let c = Commit {
            suite: 4,
            uid: "alice",
            to: "bob",
            identity: [1; 32],
            kem_ek: Box::new([3; EK_LEN]),
            commitment: [2; 32],
        };
        let bytes = c.encode(&sid).unwrap();
        assert_eq!(bytes.len(), 1270 + 5 + 3);
        let env = open(&bytes).unwrap();
        assert_eq!(env.kind, MessageType::Commit);
        assert_eq!(env.session_id, sid);
        assert_eq!(Commit::decode(env.body).unwrap(), c);
        assert_exact(env.body, |b| Commit::decode(b).map(drop));
    }

    #[test]
    fn response_round_trip_and_exact_length() {
        let sid = SessionId([7; 16]);
        let r = Response {
            uid: "bob",
            identity: [1; 32],
            ephemeral: [2; 32],
            kem_ct: Box::new([3; CT_LEN]),
        };
        let bytes = r.encode(&sid).unwrap();
        assert_eq!(bytes.len(), 1171 + 3);
        let env = open(&bytes).unwrap();
        assert_eq!(Response::decode(env.body).unwrap(), r);
        assert_exact(env.body, |b| Response::decode(b).map(drop));
    }

    #[test]
    fn rekey_messages_round_trip_with_their_sizes() {
        let sid = SessionId([1; 16]);
        for (message, size) in [
            (
                Rekey::Offer {
                    epoch: 3,
                    ephemeral: [4; 32],
                    kem_ek: Box::new([5; EK_LEN]),
                },
                1270,
            ),
            (
                Rekey::Answer {
                    epoch: 3,
                    ephemeral: [4; 32],
                    kem_ct: Box::new([5; CT_LEN]),
                },
                1174,
            ),
            (Rekey::Done { epoch: u32::MAX }, 54),
        ] {
            let mut bytes = message.encode_unsigned(&sid);
            bytes.extend_from_slice(&[9; MAC_LEN]);
            assert_eq!(bytes.len(), size);
            let env = open(&bytes).unwrap();
            let (decoded, mac) = Rekey::decode(env.kind, env.body).unwrap();
            assert_eq!((decoded, mac), (message, [9; MAC_LEN]));
            assert_exact(env.body, |b| Rekey::decode(env.kind, b).map(drop));
        }
    }

    #[test]
    fn other_versions_are_refused() {
        let mut bytes = Confirm { mac: [0; 32] }.encode(&SessionId([0; 16]));
        bytes[0] = 0x01;
        assert!(matches!(
            open(&bytes),
            Err(CallError::UnsupportedVersion(1))
        ));
    }

    #[test]
    fn uid_rules() {
        assert!(matches!(check_uid(""), Err(CallError::InvalidUserId)));
        assert!(check_uid(&"x".repeat(255)).is_ok());
        assert!(matches!(
            check_uid(&"x".repeat(256)),
            Err(CallError::InvalidUserId)
        ));
        assert!(matches!(
            Reader(&[2, 0xff, 0xfe]).uid(),
            Err(CallError::Malformed("user id is not UTF-8"))
        ));
    }
}
