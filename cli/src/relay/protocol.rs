//! The relay's wire protocol (docs/RELAY.md): the limits, names, the JSON
//! requests clients send, the JSON events the relay sends, and the header
//! of binary (media frame) messages.
//!
//! Requests are parsed in two steps: the `type` member first, then the
//! members of that type. `data` is kept as the raw JSON text it arrived as
//! ([`RawValue`]) and forwarded byte for byte: the relay never parses and
//! re-serialises what clients send each other.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The largest message a client may send, text or binary, in bytes.
pub(crate) const MAX_MESSAGE_SIZE: usize = 1 << 20;
/// The most connections served at once (named or still before `hello`).
pub(crate) const MAX_CLIENTS: usize = 256;
/// The most members of one room.
pub(crate) const MAX_ROOM_MEMBERS: usize = 256;
/// The most rooms one client is a member of at once.
pub(crate) const MAX_ROOMS_PER_CLIENT: usize = 64;
/// The most messages queued for one client; past it the client is
/// disconnected.
pub(crate) const QUEUE_MESSAGES: usize = 1024;
/// The most bytes queued for one client; past it the client is
/// disconnected.
pub(crate) const QUEUE_BYTES: usize = 16 << 20;
/// The longest client or room name, in bytes.
pub(crate) const MAX_NAME_LEN: usize = 64;
/// The largest epoch a commit may carry: 2^53 - 1, the largest integer
/// every JSON implementation represents exactly.
pub(crate) const MAX_EPOCH: u64 = (1 << 53) - 1;
/// The first byte of a binary recipient that names a room.
pub(crate) const ROOM_PREFIX: u8 = b'#';

/// Whether `name` is a valid client or room name: 1 to 64 bytes of
/// `[A-Za-z0-9._-]`.
pub(crate) fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The `code` of an `error` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    /// Not a request of this protocol.
    Malformed,
    /// A `hello` name outside the rule.
    InvalidName,
    /// A `hello` name another client holds.
    NameTaken,
    /// No client of that name.
    UnknownPeer,
    /// The request needs membership of a room the client is not in.
    NotAMember,
    /// The room has [`MAX_ROOM_MEMBERS`] members.
    RoomFull,
    /// The client is in [`MAX_ROOMS_PER_CLIENT`] rooms.
    TooManyRooms,
    /// A message over [`MAX_MESSAGE_SIZE`].
    TooLarge,
    /// The relay serves [`MAX_CLIENTS`] connections.
    Full,
}

impl ErrorCode {
    /// The code on the wire.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::InvalidName => "invalid-name",
            Self::NameTaken => "name-taken",
            Self::UnknownPeer => "unknown-peer",
            Self::NotAMember => "not-a-member",
            Self::RoomFull => "room-full",
            Self::TooManyRooms => "too-many-rooms",
            Self::TooLarge => "too-large",
            Self::Full => "full",
        }
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A request from a client, borrowing its `data` from the message text.
#[derive(Debug)]
pub(crate) enum Request<'a> {
    /// The first message: the client's name.
    Hello {
        /// The name asked for (not yet checked).
        name: String,
    },
    /// A message for one client.
    Signal {
        /// The recipient's name (not yet checked).
        to: String,
        /// A JSON object, as sent.
        data: &'a RawValue,
    },
    /// Join a room.
    Join {
        /// The room's name (not yet checked).
        room: String,
    },
    /// Leave a room.
    Leave {
        /// The room's name (not yet checked).
        room: String,
    },
    /// A commit made in `epoch`, for the relay to order.
    Commit {
        /// The room's name (not yet checked).
        room: String,
        /// The epoch the commit was made in.
        epoch: u64,
        /// A JSON object, as sent.
        data: &'a RawValue,
    },
    /// A message for every other member of a room.
    Broadcast {
        /// The room's name (not yet checked).
        room: String,
        /// A JSON object, as sent.
        data: &'a RawValue,
    },
}

#[derive(Deserialize)]
struct Kind {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct HelloFields {
    name: String,
}

#[derive(Deserialize)]
struct SignalFields<'a> {
    to: String,
    #[serde(borrow)]
    data: &'a RawValue,
}

#[derive(Deserialize)]
struct RoomFields {
    room: String,
}

#[derive(Deserialize)]
struct CommitFields<'a> {
    room: String,
    epoch: u64,
    #[serde(borrow)]
    data: &'a RawValue,
}

#[derive(Deserialize)]
struct BroadcastFields<'a> {
    room: String,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// Parses one text message; the error says why it is malformed (with no
/// part of the message in it).
pub(crate) fn parse(text: &str) -> Result<Request<'_>, &'static str> {
    let kind: Kind = from_str(text)?;
    let request = match kind.kind.as_str() {
        "hello" => {
            let f: HelloFields = from_str(text)?;
            Request::Hello { name: f.name }
        }
        "signal" => {
            let f: SignalFields<'_> = from_str(text)?;
            Request::Signal {
                to: f.to,
                data: object(f.data)?,
            }
        }
        "join" => Request::Join {
            room: from_str::<RoomFields>(text)?.room,
        },
        "leave" => Request::Leave {
            room: from_str::<RoomFields>(text)?.room,
        },
        "commit" => {
            let f: CommitFields<'_> = from_str(text)?;
            if f.epoch > MAX_EPOCH {
                return Err("epoch above 2^53 - 1");
            }
            Request::Commit {
                room: f.room,
                epoch: f.epoch,
                data: object(f.data)?,
            }
        }
        "broadcast" => {
            let f: BroadcastFields<'_> = from_str(text)?;
            Request::Broadcast {
                room: f.room,
                data: object(f.data)?,
            }
        }
        _ => return Err("unknown type"),
    };
    Ok(request)
}

/// serde_json's error names a field or a position, never the content; the
/// relay's reason stays generic all the same.
fn from_str<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, &'static str> {
    serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => "a member is missing or has the wrong type",
        _ => "not a JSON object",
    })
}

fn object(data: &RawValue) -> Result<&RawValue, &'static str> {
    if data.get().starts_with('{') {
        Ok(data)
    } else {
        Err("data is not a JSON object")
    }
}

/// An event the relay sends, serialised with `type` first and the members
/// in the order documented.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub(crate) enum Event<'a> {
    /// The reply to `hello`: the name and the other clients' names.
    Welcome {
        /// The client's name.
        name: &'a str,
        /// The other named clients, sorted.
        peers: Vec<&'a str>,
    },
    /// Another client said `hello`.
    PeerJoined {
        /// Its name.
        name: &'a str,
    },
    /// A named client disconnected.
    PeerLeft {
        /// Its name.
        name: &'a str,
    },
    /// A `signal` from another client.
    Signal {
        /// The sender's name.
        from: &'a str,
        /// Its `data`, byte for byte.
        data: &'a RawValue,
    },
    /// The reply to `join`.
    Room {
        /// The room.
        room: &'a str,
        /// Its members, sorted, the client included.
        members: Vec<&'a str>,
        /// The epoch the next commit must carry; `null` before the first.
        epoch: Option<u64>,
    },
    /// A client joined a room this client is in.
    MemberJoined {
        /// The room.
        room: &'a str,
        /// The new member.
        name: &'a str,
    },
    /// A member left a room (or disconnected).
    MemberLeft {
        /// The room.
        room: &'a str,
        /// The member that left.
        name: &'a str,
    },
    /// An accepted commit, to every member, the committer included.
    Commit {
        /// The room.
        room: &'a str,
        /// The epoch it was made in.
        epoch: u64,
        /// The committer.
        from: &'a str,
        /// Its `data`, byte for byte.
        data: &'a RawValue,
    },
    /// A commit for another epoch than the room expects, to its sender.
    CommitRejected {
        /// The room.
        room: &'a str,
        /// The epoch the commit carried.
        epoch: u64,
        /// The epoch the room expects.
        current: u64,
    },
    /// A `broadcast` from another member.
    Broadcast {
        /// The room.
        room: &'a str,
        /// The sender.
        from: &'a str,
        /// Its `data`, byte for byte.
        data: &'a RawValue,
    },
    /// A refused request.
    Error {
        /// What went wrong.
        code: ErrorCode,
        /// Why, for people.
        message: &'a str,
    },
}

impl Event<'_> {
    /// The event as JSON text.
    pub(crate) fn to_json(&self) -> String {
        // Serialising strings, integers and raw JSON into a String cannot
        // fail; an empty object stands in should it ever.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

/// The destination of a binary message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    /// One client.
    Peer(&'a str),
    /// Every other member of a room.
    Room(&'a str),
}

/// Splits a binary message into its destination and the frame; the error
/// says why the header is bad.
pub(crate) fn parse_binary(message: &[u8]) -> Result<(Target<'_>, &[u8]), &'static str> {
    let (&len, rest) = message.split_first().ok_or("empty binary message")?;
    let len = usize::from(len);
    if len == 0 || rest.len() < len {
        return Err("bad recipient length");
    }
    let (name, frame) = rest.split_at(len);
    let name = std::str::from_utf8(name).map_err(|_| "bad recipient name")?;
    let target = match name.strip_prefix(char::from(ROOM_PREFIX)) {
        Some(room) => Target::Room(room),
        None => Target::Peer(name),
    };
    let checked = match target {
        Target::Peer(n) | Target::Room(n) => n,
    };
    if !valid_name(checked) {
        return Err("bad recipient name");
    }
    Ok((target, frame))
}

/// The binary message a recipient gets: `[L][sender name][frame]`.
pub(crate) fn binary_from(sender: &str, frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + sender.len() + frame.len());
    // Names are at most 64 bytes, so the length fits a byte.
    out.push(u8::try_from(sender.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(sender.as_bytes());
    out.extend_from_slice(frame);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use proptest::prelude::*;

    use super::*;

    proptest! {
        // What any client may send: no input panics the parsers, and a
        // binary message that parses names a valid recipient and keeps
        // every frame byte.
        #[test]
        fn any_text_parses_or_is_refused(text in ".{0,200}") {
            let _ = parse(&text);
        }

        #[test]
        fn any_json_shaped_text_parses_or_is_refused(
            kind in prop::sample::select(vec!["hello", "signal", "join", "leave", "commit", "broadcast", "x"]),
            name in "[ -~]{0,70}",
            epoch in prop::num::i128::ANY,
            data in "[ -~]{0,40}",
        ) {
            for text in [
                format!(r#"{{"type":"{kind}","name":"{name}","to":"{name}","room":"{name}","epoch":{epoch},"data":{data}}}"#),
                format!(r#"{{"type":"{kind}","name":{epoch},"data":{{"k":"{name}"}},"epoch":"{data}"}}"#),
            ] {
                let _ = parse(&text);
            }
        }

        #[test]
        fn any_binary_parses_or_is_refused(message in prop::collection::vec(any::<u8>(), 0..120)) {
            if let Ok((target, frame)) = parse_binary(&message) {
                let name = match target { Target::Peer(n) | Target::Room(n) => n };
                prop_assert!(valid_name(name));
                prop_assert_eq!(frame, &message[message.len() - frame.len()..]);
            }
        }
    }

    #[test]
    fn names() {
        assert!(valid_name("alice"));
        assert!(valid_name("A-b_c.9"));
        assert!(valid_name(&"x".repeat(64)));
        assert!(!valid_name(&"x".repeat(65)));
        assert!(!valid_name(""));
        assert!(!valid_name("al ice"));
        assert!(!valid_name("#r"));
        assert!(!valid_name("é"));
    }

    #[test]
    fn requests() {
        let text = r#"{"data": { "b":1,  "a":[2] }, "to":"bob","type":"signal"}"#;
        let Ok(Request::Signal { to, data }) = parse(text) else {
            panic!("not a signal");
        };
        assert_eq!(to, "bob");
        assert_eq!(data.get(), r#"{ "b":1,  "a":[2] }"#);
        assert!(parse(r#"{"type":"signal","to":"bob","data":[1]}"#).is_err());
        assert!(parse(r#"{"type":"commit","room":"r","epoch":1.5,"data":{}}"#).is_err());
        assert!(parse(r#"{"type":"commit","room":"r","epoch":-1,"data":{}}"#).is_err());
        assert!(
            parse(r#"{"type":"commit","room":"r","epoch":9007199254740992,"data":{}}"#).is_err()
        );
        assert!(parse(r#"{"type":"nope"}"#).is_err());
        assert!(parse(r#"{"type":"hello","type":"hello","name":"a"}"#).is_err());
        assert!(parse("[]").is_err());
        // Deep nesting in data is only scanned, never recursed into: no
        // stack is at risk, and the data goes on as it came.
        let deep = format!(
            r#"{{"type":"signal","to":"b","data":{{"x":{}{}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(parse(&deep).is_ok());
        let unbalanced = format!(
            r#"{{"type":"signal","to":"b","data":{{"x":{}}}}}"#,
            "[".repeat(100_000)
        );
        assert!(parse(&unbalanced).is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn events_keep_data() {
        let data: &RawValue = serde_json::from_str(r#"{ "z" :1,"a":{}}"#).unwrap();
        let json = Event::Signal {
            from: "alice",
            data,
        }
        .to_json();
        assert_eq!(
            json,
            r#"{"type":"signal","from":"alice","data":{ "z" :1,"a":{}}}"#
        );
        let json = Event::CommitRejected {
            room: "r",
            epoch: 3,
            current: 4,
        }
        .to_json();
        assert_eq!(
            json,
            r#"{"type":"commit-rejected","room":"r","epoch":3,"current":4}"#
        );
    }

    #[test]
    fn binary_header() {
        let (t, f) = parse_binary(b"\x03bobxyz").unwrap();
        assert_eq!((t, f), (Target::Peer("bob"), &b"xyz"[..]));
        let (t, f) = parse_binary(b"\x02#r").unwrap();
        assert_eq!((t, f), (Target::Room("r"), &b""[..]));
        assert!(parse_binary(b"").is_err());
        assert!(parse_binary(b"\x00abc").is_err());
        assert!(parse_binary(b"\x05bob").is_err());
        assert!(parse_binary(b"\x01#").is_err());
        assert!(parse_binary(b"\x02a b").is_err());
        assert_eq!(binary_from("al", b"f"), b"\x02alf");
    }
}
