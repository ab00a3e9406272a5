//! Wire format of the four handshake messages (PROTOCOL.md §3.3).
//!
//! ```text
//! version (1) = 0x01 | type (1) | session_id (16) | body
//! Commit   (I → R): suite (u16 BE) | len (u8) | uid_I | IK_I.pub (32) | commitment (32)
//! Response (R → I): len (u8) | uid_R | IK_R.pub (32) | EK_R.pub (32)
//! Reveal   (I → R): EK_I.pub (32) | mac_I (32)
//! Confirm  (R → I): mac_R (32)
//! ```
//!
//! Every length is exact: a byte missing or left over is `Malformed`.

use super::error::CallError;

/// The only protocol version.
pub(crate) const VERSION: u8 = 0x01;
/// Version, type and session id.
pub(crate) const HEADER_LEN: usize = 18;
/// Length of public keys, commitments and MACs.
pub(crate) const KEY_LEN: usize = 32;

/// The 16 random bytes that name one handshake, chosen by the initiator.
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

/// The type byte of a handshake message.
///
/// ```
/// use callseal_core::call::MessageType;
///
/// assert_eq!(MessageType::from_byte(0x03), Some(MessageType::Reveal));
/// assert_eq!(MessageType::Confirm as u8, 0x04);
/// assert_eq!(MessageType::from_byte(0x05), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    /// I → R: suite, initiator's user id and identity key, commitment.
    Commit = 0x01,
    /// R → I: responder's user id, identity key and ephemeral key.
    Response = 0x02,
    /// I → R: initiator's ephemeral key and MAC.
    Reveal = 0x03,
    /// R → I: responder's MAC.
    Confirm = 0x04,
}

impl MessageType {
    /// The type for a type byte, if it is one.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0x01 => Some(Self::Commit),
            0x02 => Some(Self::Response),
            0x03 => Some(Self::Reveal),
            0x04 => Some(Self::Confirm),
            _ => None,
        }
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
    let session_id = SessionId(take_array(header.get(2..).unwrap_or(&[]))?.0);
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

/// Reads a fixed-size array from the front of `buf`.
fn take_array<const N: usize>(buf: &[u8]) -> Result<([u8; N], &[u8]), CallError> {
    let (head, rest) = buf
        .split_first_chunk::<N>()
        .ok_or(CallError::Malformed("message truncated"))?;
    Ok((*head, rest))
}

/// Reads a length-prefixed user id (1–255 bytes of UTF-8).
fn take_uid(buf: &[u8]) -> Result<(&str, &[u8]), CallError> {
    let (&len, rest) = buf
        .split_first()
        .ok_or(CallError::Malformed("message truncated"))?;
    if len == 0 {
        return Err(CallError::Malformed("empty user id"));
    }
    let (uid, rest) = rest
        .split_at_checked(usize::from(len))
        .ok_or(CallError::Malformed("message truncated"))?;
    let uid =
        core::str::from_utf8(uid).map_err(|_| CallError::Malformed("user id is not UTF-8"))?;
    Ok((uid, rest))
}

fn end(rest: &[u8]) -> Result<(), CallError> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(CallError::Malformed("trailing bytes after message body"))
    }
}

/// Checks that a user id fits the wire format.
pub(crate) fn check_uid(uid: &str) -> Result<u8, CallError> {
    match u8::try_from(uid.len()) {
        Ok(len) if len > 0 => Ok(len),
        _ => Err(CallError::InvalidUserId),
    }
}

/// Body of a Commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Commit<'a> {
    pub(crate) suite: u16,
    pub(crate) uid: &'a str,
    pub(crate) identity: [u8; KEY_LEN],
    pub(crate) commitment: [u8; KEY_LEN],
}

impl<'a> Commit<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self, CallError> {
        let (suite, rest) = take_array::<2>(body)?;
        let (uid, rest) = take_uid(rest)?;
        let (identity, rest) = take_array(rest)?;
        let (commitment, rest) = take_array(rest)?;
        end(rest)?;
        Ok(Self {
            suite: u16::from_be_bytes(suite),
            uid,
            identity,
            commitment,
        })
    }

    pub(crate) fn encode(&self, session_id: &SessionId) -> Result<Vec<u8>, CallError> {
        let len = check_uid(self.uid)?;
        let mut out = header(MessageType::Commit, session_id, 3 + self.uid.len() + 64);
        out.extend_from_slice(&self.suite.to_be_bytes());
        out.push(len);
        out.extend_from_slice(self.uid.as_bytes());
        out.extend_from_slice(&self.identity);
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
}

impl<'a> Response<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self, CallError> {
        let (uid, rest) = take_uid(body)?;
        let (identity, rest) = take_array(rest)?;
        let (ephemeral, rest) = take_array(rest)?;
        end(rest)?;
        Ok(Self {
            uid,
            identity,
            ephemeral,
        })
    }

    pub(crate) fn encode(&self, session_id: &SessionId) -> Result<Vec<u8>, CallError> {
        let len = check_uid(self.uid)?;
        let mut out = header(MessageType::Response, session_id, 1 + self.uid.len() + 64);
        out.push(len);
        out.extend_from_slice(self.uid.as_bytes());
        out.extend_from_slice(&self.identity);
        out.extend_from_slice(&self.ephemeral);
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
        let (ephemeral, rest) = take_array(body)?;
        let (mac, rest) = take_array(rest)?;
        end(rest)?;
        Ok(Self { ephemeral, mac })
    }

    pub(crate) fn encode(&self, session_id: &SessionId) -> Vec<u8> {
        let mut out = header(MessageType::Reveal, session_id, 64);
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
        let (mac, rest) = take_array(body)?;
        end(rest)?;
        Ok(Self { mac })
    }

    pub(crate) fn encode(&self, session_id: &SessionId) -> Vec<u8> {
        let mut out = header(MessageType::Confirm, session_id, 32);
        out.extend_from_slice(&self.mac);
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn commit_round_trip_and_exact_length() {
        let sid = SessionId([7; 16]);
        let c = Commit {
            suite: 4,
            uid: "alice",
            identity: [1; 32],
            commitment: [2; 32],
        };
        let bytes = c.encode(&sid).unwrap();
        assert_eq!(bytes.len(), 18 + 2 + 1 + 5 + 64);
        let env = open(&bytes).unwrap();
        assert_eq!(env.kind, MessageType::Commit);
        assert_eq!(env.session_id, sid);
        assert_eq!(Commit::decode(env.body).unwrap(), c);
        for cut in 0..env.body.len() {
            assert!(matches!(
                Commit::decode(&env.body[..cut]),
                Err(CallError::Malformed(_))
            ));
        }
        let mut longer = env.body.to_vec();
        longer.push(0);
        assert!(matches!(
            Commit::decode(&longer),
            Err(CallError::Malformed(_))
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
            take_uid(&[2, 0xff, 0xfe]),
            Err(CallError::Malformed("user id is not UTF-8"))
        ));
    }
}
