//! The hub: the relay's whole state (clients, names, rooms), changed by one
//! input at a time, so every decision (a name taken, a commit accepted) is
//! made in one order for everyone.
//!
//! Connection tasks hand it what their clients sent ([`Input`]); it answers
//! by filling the clients' bounded queues ([`Outbox`]). A client whose
//! queue overflows is dropped once the current input is handled, so one
//! slow reader never holds the others back or makes the relay grow.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use base64ct::{Base64, Encoding};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};

use super::log;
use super::mitm::{FrameVerdict, Mitm, Relayed};
use super::outbox::Outbox;
use super::protocol::{
    self, ErrorCode, Event, MAX_CLIENTS, MAX_ROOMS_PER_CLIENT, Request, Target, valid_name,
};
use super::room::{Room, RoomFull};

/// What a connection task hands the hub.
#[derive(Debug)]
pub(crate) enum Input {
    /// A client connected (its WebSocket handshake done).
    Connected {
        /// The connection's number.
        id: u64,
        /// Its outgoing queue.
        outbox: Outbox,
    },
    /// A text message.
    Text {
        /// The connection.
        id: u64,
        /// The message.
        text: Utf8Bytes,
    },
    /// A binary message.
    Binary {
        /// The connection.
        id: u64,
        /// The message.
        data: Bytes,
    },
    /// The connection ended.
    Gone {
        /// The connection.
        id: u64,
    },
}

/// How often a client is told about binary frames it sent nowhere: at most
/// once per this interval per recipient; the rest are dropped silently.
const FRAME_ERROR_INTERVAL: Duration = Duration::from_secs(1);
/// The most recipients whose last frame error a client's limiter remembers.
const FRAME_ERROR_MEMORY: usize = 64;

struct Client {
    /// Set by an accepted `hello`.
    name: Option<String>,
    outbox: Outbox,
    rooms: BTreeSet<String>,
    /// When the client was last told a binary recipient is unknown.
    frame_errors: HashMap<String, Instant>,
}

impl Client {
    /// Whether an error about a frame for `recipient` may be sent now.
    fn may_report_frame_error(&mut self, recipient: &str) -> bool {
        let now = Instant::now();
        if let Some(last) = self.frame_errors.get(recipient)
            && now.duration_since(*last) < FRAME_ERROR_INTERVAL
        {
            return false;
        }
        if self.frame_errors.len() >= FRAME_ERROR_MEMORY {
            self.frame_errors
                .retain(|_, last| now.duration_since(*last) < FRAME_ERROR_INTERVAL);
            if self.frame_errors.len() >= FRAME_ERROR_MEMORY {
                return false;
            }
        }
        self.frame_errors.insert(recipient.to_owned(), now);
        true
    }
}

/// The relay's state.
pub(crate) struct Hub {
    clients: HashMap<u64, Client>,
    /// Named clients, sorted by name.
    names: BTreeMap<String, u64>,
    rooms: BTreeMap<String, Room>,
    mitm: Option<Mitm>,
    /// Clients whose queue overflowed, dropped after the current input.
    overflowed: Vec<u64>,
}

/// The `data` of a 1:1 call's signal: `{"call": "<base64>"}`.
#[derive(Deserialize)]
struct CallData {
    call: Option<String>,
}

impl Hub {
    /// An empty relay; a man in the middle with `mitm`.
    pub(crate) fn new(mitm: bool) -> Self {
        Self {
            clients: HashMap::new(),
            names: BTreeMap::new(),
            rooms: BTreeMap::new(),
            mitm: mitm.then(Mitm::new),
            overflowed: Vec::new(),
        }
    }

    /// Handles one input, then drops the clients that stopped reading.
    pub(crate) fn handle(&mut self, input: Input) {
        match input {
            Input::Connected { id, outbox } => self.connected(id, outbox),
            Input::Text { id, text } => self.text(id, text.as_str()),
            Input::Binary { id, data } => self.binary(id, &data),
            Input::Gone { id } => {
                if self.clients.contains_key(&id) {
                    log(format_args!("#{id} {}: disconnected", self.label(id)));
                    self.remove(id);
                }
            }
        }
        while let Some(id) = self.overflowed.pop() {
            if let Some(client) = self.clients.get_mut(&id) {
                client.outbox.kill();
                log(format_args!(
                    "#{id} {}: dropped, its queue is full (not reading)",
                    self.label(id)
                ));
                self.remove(id);
            }
        }
    }

    /// Closes every connection and forgets every client: the relay stops.
    pub(crate) fn close_all(&mut self) {
        for client in self.clients.values_mut() {
            client.outbox.close();
        }
        self.clients.clear();
        self.names.clear();
        self.rooms.clear();
    }

    fn label(&self, id: u64) -> &str {
        self.clients
            .get(&id)
            .and_then(|c| c.name.as_deref())
            .unwrap_or("(no name)")
    }

    fn connected(&mut self, id: u64, mut outbox: Outbox) {
        if self.clients.len() >= MAX_CLIENTS {
            log(format_args!("#{id}: refused, the relay is full"));
            let error = Event::Error {
                code: ErrorCode::Full,
                message: "the relay serves as many clients as it can",
            };
            // Overflow is impossible on a fresh queue; the close follows.
            let _ = outbox.push(Message::text(error.to_json()));
            outbox.close();
            return;
        }
        log(format_args!("#{id}: connected"));
        self.clients.insert(
            id,
            Client {
                name: None,
                outbox,
                rooms: BTreeSet::new(),
                frame_errors: HashMap::new(),
            },
        );
    }

    /// Queues `message` for client `id`; marks it overflowed if it is full.
    fn deliver(&mut self, id: u64, message: Message) {
        if let Some(client) = self.clients.get(&id)
            && client.outbox.push(message).is_err()
        {
            self.overflowed.push(id);
        }
    }

    fn send(&mut self, id: u64, event: &Event<'_>) {
        self.deliver(id, Message::text(event.to_json()));
    }

    fn error(&mut self, id: u64, code: ErrorCode, message: &str) {
        self.send(id, &Event::Error { code, message });
    }

    /// Sends an error, then closes the connection and forgets the client.
    fn refuse(&mut self, id: u64, code: ErrorCode, message: &str) {
        log(format_args!(
            "#{id} {}: refused ({}), closing",
            self.label(id),
            code.as_str()
        ));
        self.error(id, code, message);
        if let Some(client) = self.clients.get_mut(&id) {
            client.outbox.close();
        }
        self.remove(id);
    }

    /// Forgets client `id`: frees its name, takes it out of its rooms and
    /// tells the others.
    fn remove(&mut self, id: u64) {
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        let Some(name) = client.name else {
            return;
        };
        self.names.remove(&name);
        for room in &client.rooms {
            self.leave_room(room, &name, false);
        }
        let text = Message::text(Event::PeerLeft { name: &name }.to_json());
        let others: Vec<u64> = self.names.values().copied().collect();
        for other in others {
            self.deliver(other, text.clone());
        }
        if let Some(mitm) = &mut self.mitm {
            mitm.forget(&name);
        }
    }

    fn text(&mut self, id: u64, text: &str) {
        let Some(client) = self.clients.get(&id) else {
            return;
        };
        let request = protocol::parse(text);
        let Some(name) = client.name.clone() else {
            return match request {
                Ok(Request::Hello { name }) => self.hello(id, &name),
                Ok(_) => self.refuse(id, ErrorCode::Malformed, "the first message must be hello"),
                Err(why) => self.refuse(id, ErrorCode::Malformed, why),
            };
        };
        match request {
            Err(why) => self.error(id, ErrorCode::Malformed, why),
            Ok(Request::Hello { .. }) => {
                self.error(id, ErrorCode::Malformed, "hello was already sent");
            }
            Ok(Request::Signal { to, data }) => self.signal(id, &name, &to, data),
            Ok(Request::Join { room }) => self.join(id, &name, &room),
            Ok(Request::Leave { room }) => {
                if self.is_member(&room, &name) {
                    self.leave_room(&room, &name, true);
                    if let Some(client) = self.clients.get_mut(&id) {
                        client.rooms.remove(&room);
                    }
                    log(format_args!("#{id} {name}: left room {room}"));
                } else {
                    self.error(id, ErrorCode::NotAMember, "not a member of that room");
                }
            }
            Ok(Request::Commit { room, epoch, data }) => {
                self.commit(id, &name, &room, epoch, data);
            }
            Ok(Request::Broadcast { room, data }) => {
                if self.is_member(&room, &name) {
                    let event = Event::Broadcast {
                        room: &room,
                        from: &name,
                        data,
                    };
                    let text = Message::text(event.to_json());
                    for other in self.member_ids(&room, Some(&name)) {
                        self.deliver(other, text.clone());
                    }
                } else {
                    self.error(id, ErrorCode::NotAMember, "not a member of that room");
                }
            }
        }
    }

    fn hello(&mut self, id: u64, name: &str) {
        if !valid_name(name) {
            return self.refuse(
                id,
                ErrorCode::InvalidName,
                "a name is 1 to 64 bytes of A-Z, a-z, 0-9, '.', '_' and '-'",
            );
        }
        if self.names.contains_key(name) {
            return self.refuse(id, ErrorCode::NameTaken, "another client has that name");
        }
        let peers: Vec<String> = self.names.keys().cloned().collect();
        let others: Vec<u64> = self.names.values().copied().collect();
        self.names.insert(name.to_owned(), id);
        if let Some(client) = self.clients.get_mut(&id) {
            client.name = Some(name.to_owned());
        }
        log(format_args!("#{id}: hello {name}"));
        let welcome = Event::Welcome {
            name,
            peers: peers.iter().map(String::as_str).collect(),
        };
        self.send(id, &welcome);
        let joined = Message::text(Event::PeerJoined { name }.to_json());
        for other in others {
            self.deliver(other, joined.clone());
        }
    }

    fn signal(&mut self, id: u64, from: &str, to: &str, data: &RawValue) {
        let Some(&recipient) = self.names.get(to) else {
            return self.error(id, ErrorCode::UnknownPeer, "no client has that name");
        };
        if let Some(mitm) = &mut self.mitm
            && let Some(call) = call_message(data)
            && let Some(relayed) = mitm.on_signal(from, to, &call)
        {
            return self.relay_calls(relayed);
        }
        self.send(recipient, &Event::Signal { from, data });
    }

    /// Sends the man in the middle's own call messages.
    fn relay_calls(&mut self, relayed: Vec<Relayed>) {
        for r in relayed {
            let Some(&id) = self.names.get(&r.to) else {
                continue;
            };
            let json = format!("{{\"call\":\"{}\"}}", Base64::encode_string(&r.call));
            // Base64 text in a JSON string is always valid JSON.
            if let Ok(data) = RawValue::from_string(json) {
                self.send(
                    id,
                    &Event::Signal {
                        from: &r.from,
                        data: &data,
                    },
                );
            }
        }
    }

    fn join(&mut self, id: u64, name: &str, room: &str) {
        if !valid_name(room) {
            return self.error(
                id,
                ErrorCode::InvalidName,
                "a room name is 1 to 64 bytes of A-Z, a-z, 0-9, '.', '_' and '-'",
            );
        }
        let in_rooms = self.clients.get(&id).map_or(0, |c| c.rooms.len());
        let already = self.is_member(room, name);
        if !already && in_rooms >= MAX_ROOMS_PER_CLIENT {
            return self.error(id, ErrorCode::TooManyRooms, "in too many rooms already");
        }
        let r = self.rooms.entry(room.to_owned()).or_default();
        match r.join(name) {
            Err(RoomFull) => {
                if r.is_empty() {
                    self.rooms.remove(room);
                }
                return self.error(id, ErrorCode::RoomFull, "the room is full");
            }
            Ok(true) => {
                if let Some(client) = self.clients.get_mut(&id) {
                    client.rooms.insert(room.to_owned());
                }
                log(format_args!("#{id} {name}: joined room {room}"));
                let joined = Message::text(Event::MemberJoined { room, name }.to_json());
                for other in self.member_ids(room, Some(name)) {
                    self.deliver(other, joined.clone());
                }
            }
            Ok(false) => {}
        }
        let Some(r) = self.rooms.get(room) else {
            return;
        };
        let reply = Event::Room {
            room,
            members: r.members().collect(),
            epoch: r.expected(),
        }
        .to_json();
        self.deliver(id, Message::text(reply));
    }

    /// Takes `name` out of `room` and tells the members left (and, for a
    /// `leave` request, the leaver); an empty room is forgotten.
    fn leave_room(&mut self, room: &str, name: &str, tell_leaver: bool) {
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        r.leave(name);
        let empty = r.is_empty();
        let left = Message::text(Event::MemberLeft { room, name }.to_json());
        for other in self.member_ids(room, None) {
            self.deliver(other, left.clone());
        }
        if tell_leaver && let Some(&id) = self.names.get(name) {
            self.deliver(id, left);
        }
        if empty {
            self.rooms.remove(room);
        }
    }

    fn commit(&mut self, id: u64, name: &str, room: &str, epoch: u64, data: &RawValue) {
        let Some(r) = self.rooms.get_mut(room).filter(|r| r.has(name)) else {
            return self.error(id, ErrorCode::NotAMember, "not a member of that room");
        };
        match r.commit(epoch) {
            Ok(()) => {
                let event = Event::Commit {
                    room,
                    epoch,
                    from: name,
                    data,
                };
                let text = Message::text(event.to_json());
                for member in self.member_ids(room, None) {
                    self.deliver(member, text.clone());
                }
            }
            Err(current) => self.send(
                id,
                &Event::CommitRejected {
                    room,
                    epoch,
                    current,
                },
            ),
        }
    }

    fn is_member(&self, room: &str, name: &str) -> bool {
        self.rooms.get(room).is_some_and(|r| r.has(name))
    }

    /// The connections of `room`'s members, but `except`.
    fn member_ids(&self, room: &str, except: Option<&str>) -> Vec<u64> {
        self.rooms.get(room).map_or_else(Vec::new, |r| {
            r.members()
                .filter(|m| Some(*m) != except)
                .filter_map(|m| self.names.get(m).copied())
                .collect()
        })
    }

    fn binary(&mut self, id: u64, message: &[u8]) {
        let Some(name) = self.clients.get(&id).map(|c| c.name.clone()) else {
            return;
        };
        let Some(name) = name else {
            return self.refuse(id, ErrorCode::Malformed, "the first message must be hello");
        };
        let (target, frame) = match protocol::parse_binary(message) {
            Ok(parsed) => parsed,
            Err(why) => return self.error(id, ErrorCode::Malformed, why),
        };
        match target {
            Target::Peer(to) => {
                let Some(&recipient) = self.names.get(to) else {
                    return self.frame_error(id, to, ErrorCode::UnknownPeer);
                };
                let verdict = match &mut self.mitm {
                    Some(mitm) => mitm.on_frame(&name, to, frame),
                    None => FrameVerdict::Pass,
                };
                let out = match verdict {
                    FrameVerdict::Pass => protocol::binary_from(&name, frame),
                    FrameVerdict::Forward(reencrypted) => {
                        protocol::binary_from(&name, &reencrypted)
                    }
                    FrameVerdict::Drop => return,
                };
                self.deliver(recipient, Message::binary(out));
            }
            Target::Room(room) => {
                if !self.is_member(room, &name) {
                    let key = format!("#{room}");
                    return self.frame_error(id, &key, ErrorCode::NotAMember);
                }
                let out = Message::binary(protocol::binary_from(&name, frame));
                for other in self.member_ids(room, Some(&name)) {
                    self.deliver(other, out.clone());
                }
            }
        }
    }

    /// Tells the sender of a frame that went nowhere, at most once per
    /// second per recipient.
    fn frame_error(&mut self, id: u64, recipient: &str, code: ErrorCode) {
        let report = self
            .clients
            .get_mut(&id)
            .is_some_and(|c| c.may_report_frame_error(recipient));
        if report {
            let message = match code {
                ErrorCode::NotAMember => "frame for a room the sender is not a member of",
                _ => "frame for a client that is not connected",
            };
            self.error(id, code, message);
        }
    }
}

/// The call message a signal's `data` carries, if it is `{"call": base64}`.
fn call_message(data: &RawValue) -> Option<Vec<u8>> {
    let parsed: CallData = serde_json::from_str(data.get()).ok()?;
    Base64::decode_vec(&parsed.call?).ok()
}
