//! What handling one received message gave: a reply to send, media keys to
//! install, or the reason it was ignored (PROTOCOL.md §3.7).

use super::media::MediaUpdate;

/// Why a received message changed nothing. Once a call is established,
/// nothing the signalling delivers ends it: what the session cannot use it
/// ignores and says so here.
///
/// ```
/// use callseal_core::call::Ignored;
///
/// assert_eq!(Ignored::OtherSession.as_str(), "other-session");
/// assert_eq!(Ignored::Repeat.to_string(), "repeat");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ignored {
    /// The message belongs to another session (its `session_id` differs).
    OtherSession,
    /// A byte-identical repeat of a message already answered; the same reply
    /// is returned again, to resend.
    Repeat,
    /// A handshake message after the handshake completed.
    Handshake,
    /// A malformed message, or one of another protocol version.
    Malformed,
    /// A rekey message whose MAC does not verify (forged, corrupted, or
    /// reflected).
    BadMac,
    /// A rekey message for an epoch this session does not expect now
    /// (replayed, late, or far ahead).
    Stale,
    /// The responder's rekey offer crossed the initiator's; the initiator's
    /// wins (PROTOCOL.md §3.9).
    RekeyCollision,
}

impl Ignored {
    /// The kebab-case name used by the wrappers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OtherSession => "other-session",
            Self::Repeat => "repeat",
            Self::Handshake => "handshake",
            Self::Malformed => "malformed",
            Self::BadMac => "bad-mac",
            Self::Stale => "stale",
            Self::RekeyCollision => "rekey-collision",
        }
    }
}

impl core::fmt::Display for Ignored {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of [`CallSession::handle`](super::CallSession::handle).
///
/// Send `reply` to the peer if there is one; apply `media` to the call's
/// [`Sender`](crate::frame::Sender) and [`Receiver`](crate::frame::Receiver)
/// if there is one, in the order received; `ignored` says why a message
/// changed nothing (a [`Ignored::Repeat`] comes with the earlier reply again).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Handled {
    /// The message to send to the peer.
    pub reply: Option<Vec<u8>>,
    /// New media keys to install (a rekey step).
    pub media: Option<MediaUpdate>,
    /// Why the message changed nothing, if it did not.
    pub ignored: Option<Ignored>,
}

impl Handled {
    pub(crate) fn ignored(why: Ignored) -> Self {
        Self {
            ignored: Some(why),
            ..Self::default()
        }
    }
}
