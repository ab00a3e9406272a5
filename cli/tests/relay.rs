//! `callseal relay` as a real server process over real sockets: the
//! protocol of docs/RELAY.md (names, signals byte for byte, rooms and
//! commit order, binary frames, errors and limits), then real 1:1 calls
//! through it, honest and with `--mitm`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use base64ct::{Base64, Encoding};
use callseal_core::call::{CallSession, ExpectedPeer, MediaUpdate};
use callseal_core::frame::media::{Codec, MediaReceiver, MediaSender};
use callseal_core::identity::{IdentityKeyPair, MemoryIdentityStore};
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The relay process; killed when dropped.
struct Relay {
    child: Child,
    addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Relay {
    fn start(mitm: bool) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_callseal"));
        cmd.args(["relay", "--listen", "127.0.0.1:0"]);
        if mitm {
            cmd.arg("--mitm");
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start callseal relay");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim_end()
            .strip_prefix("callseal relay listening on ws://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let mut pipe = child.stderr.take().unwrap();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Relay {
            child,
            addr,
            stderr,
        }
    }

    fn connect(&self) -> Client {
        let stream = TcpStream::connect(&self.addr).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        let (ws, _) = tungstenite::client(format!("ws://{}/", self.addr), stream).unwrap();
        Client { ws }
    }

    /// Connects and says hello as `name`; returns the client and its welcome.
    fn join(&self, name: &str) -> (Client, Value) {
        let mut c = self.connect();
        c.send_text(&json!({"type": "hello", "name": name}).to_string());
        let welcome = c.recv_json();
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        (c, welcome)
    }

    fn client(&self, name: &str) -> Client {
        self.join(name).0
    }

    /// Standard error so far, once it holds `needle` (or after 5 s).
    fn logs_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let logs = self.stderr.lock().unwrap().clone();
            if logs.contains(needle) || Instant::now() > deadline {
                return logs;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Client {
    ws: WebSocket<TcpStream>,
}

impl Client {
    fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).unwrap();
    }

    fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::binary(bytes)).unwrap();
    }

    /// A frame to `to` (a name, or `#room`).
    fn send_frame(&mut self, to: &str, frame: &[u8]) {
        let mut m = vec![u8::try_from(to.len()).unwrap()];
        m.extend_from_slice(to.as_bytes());
        m.extend_from_slice(frame);
        self.send_binary(m);
    }

    /// The next text or binary message.
    fn recv(&mut self) -> Message {
        loop {
            match self.ws.read() {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => return m,
                Ok(Message::Close(_)) => panic!("closed by the relay"),
                Ok(_) => {}
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    fn recv_text(&mut self) -> String {
        match self.recv() {
            Message::Text(t) => t.as_str().to_owned(),
            other => panic!("expected text, got {other:?}"),
        }
    }

    fn recv_json(&mut self) -> Value {
        serde_json::from_str(&self.recv_text()).unwrap()
    }

    fn recv_binary(&mut self) -> Vec<u8> {
        match self.recv() {
            Message::Binary(b) => b.to_vec(),
            other => panic!("expected binary, got {other:?}"),
        }
    }

    fn recv_error(&mut self, code: &str) {
        let e = self.recv_json();
        assert_eq!(e["type"], "error", "{e}");
        assert_eq!(e["code"], code, "{e}");
        assert!(e["message"].is_string(), "{e}");
    }

    /// Nothing arrives for a moment.
    fn assert_silent(&mut self) {
        self.set_timeout(Duration::from_millis(300));
        match self.ws.read() {
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            other => panic!("expected silence, got {other:?}"),
        }
        self.set_timeout(READ_TIMEOUT);
    }

    /// The relay closes the connection (after any messages still queued,
    /// which are skipped); the code of its close frame, if it sent one.
    fn assert_closed(&mut self) -> Option<u16> {
        let mut code = None;
        loop {
            match self.ws.read() {
                Ok(Message::Close(frame)) => code = frame.map(|f| u16::from(f.code)),
                Ok(Message::Text(_) | Message::Binary(_) | Message::Ping(_) | Message::Pong(_)) => {
                }
                Ok(Message::Frame(_)) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    panic!("the relay did not close the connection")
                }
                Err(_) => return code,
            }
        }
    }

    fn set_timeout(&mut self, t: Duration) {
        self.ws.get_mut().set_read_timeout(Some(t)).unwrap();
    }
}

#[test]
fn hello_welcome_and_peer_joined() {
    let relay = Relay::start(false);
    let mut bob = relay.connect();
    bob.send_text(r#"{"type":"hello","name":"bob"}"#);
    assert_eq!(
        bob.recv_text(),
        r#"{"type":"welcome","name":"bob","peers":[]}"#
    );
    let mut alice = relay.connect();
    alice.send_text(r#"{"type":"hello","name":"alice"}"#);
    assert_eq!(
        alice.recv_text(),
        r#"{"type":"welcome","name":"alice","peers":["bob"]}"#
    );
    assert_eq!(bob.recv_text(), r#"{"type":"peer-joined","name":"alice"}"#);
    let (_carol, welcome) = relay.join("carol.2_x-Y");
    assert_eq!(welcome["peers"], json!(["alice", "bob"]));
    assert_eq!(alice.recv_json()["name"], "carol.2_x-Y");
    assert_eq!(bob.recv_json()["name"], "carol.2_x-Y");
    let logs = relay.logs_with("hello carol");
    assert!(logs.contains("hello alice"), "{logs}");
}

#[test]
fn names_taken_and_invalid_are_refused() {
    let relay = Relay::start(false);
    let mut alice = relay.client("alice");
    let mut again = relay.connect();
    again.send_text(r#"{"type":"hello","name":"alice"}"#);
    again.recv_error("name-taken");
    assert_eq!(again.assert_closed(), Some(1000));
    let long = "x".repeat(65);
    for bad in ["", "al ice", "#room", "é", long.as_str()] {
        let mut c = relay.connect();
        c.send_text(&json!({"type": "hello", "name": bad}).to_string());
        c.recv_error("invalid-name");
        c.assert_closed();
    }
    // The longest name is fine, and the refusals told alice nothing.
    let (_c, welcome) = relay.join(&"x".repeat(64));
    assert_eq!(welcome["peers"], json!(["alice"]));
    assert_eq!(alice.recv_json()["type"], "peer-joined");
    alice.assert_silent();
}

#[test]
fn signals_are_forwarded_byte_for_byte() {
    let relay = Relay::start(false);
    let mut alice = relay.client("alice");
    let mut bob = relay.client("bob");
    alice.recv_json(); // peer-joined bob
    // Odd spacing, key order, a duplicate key, escapes: all kept.
    let data =
        r#"{ "z" : 1,"a":[ 1.50 ,{"k":"\u00e9\n"}],  "z":"again", "marker":"do-not-log-me" }"#;
    alice.send_text(&format!(
        r#"{{"to":"bob", "data": {data} ,"type":"signal"}}"#
    ));
    assert_eq!(
        bob.recv_text(),
        format!(r#"{{"type":"signal","from":"alice","data":{data}}}"#)
    );
    // Unknown recipient: an error to the sender only, the connection stays.
    alice.send_text(r#"{"type":"signal","to":"nobody","data":{}}"#);
    alice.recv_error("unknown-peer");
    alice.send_text(r#"{"type":"signal","to":"bob","data":{}}"#);
    assert_eq!(
        bob.recv_text(),
        r#"{"type":"signal","from":"alice","data":{}}"#
    );
    let logs = relay.logs_with("hello bob");
    assert!(!logs.contains("do-not-log-me"), "{logs}");
}

#[test]
fn malformed_messages_keep_the_connection() {
    let relay = Relay::start(false);
    let mut alice = relay.client("alice");
    let mut bob = relay.client("bob");
    alice.recv_json();
    for bad in [
        "not json",
        "[]",
        r#"{"name":"x"}"#,
        r#"{"type":"dance"}"#,
        r#"{"type":7}"#,
        r#"{"type":"signal","to":"bob"}"#,
        r#"{"type":"signal","to":"bob","data":"text"}"#,
        r#"{"type":"signal","to":["bob"],"data":{}}"#,
        r#"{"type":"join","room":5}"#,
        r#"{"type":"commit","room":"r","epoch":"1","data":{}}"#,
        r#"{"type":"commit","room":"r","epoch":1.5,"data":{}}"#,
        r#"{"type":"commit","room":"r","epoch":9007199254740992,"data":{}}"#,
        r#"{"type":"hello","name":"alice2"}"#,
    ] {
        alice.send_text(bad);
        alice.recv_error("malformed");
    }
    for bad in [
        vec![],
        vec![0, 1, 2],
        vec![5, b'b', b'o', b'b'],
        b"\x03b b!".to_vec(),
    ] {
        alice.send_binary(bad);
        alice.recv_error("malformed");
    }
    alice.send_text(r#"{"type":"signal","to":"bob","data":{"still":"here"}}"#);
    assert_eq!(bob.recv_json()["data"]["still"], "here");
    bob.assert_silent();
}

#[test]
fn anything_before_hello_closes() {
    let relay = Relay::start(false);
    let mut watcher = relay.client("watcher");
    for first in [
        Message::text(r#"{"type":"join","room":"r"}"#),
        Message::text("{"),
        Message::binary(b"\x01wframe".to_vec()),
    ] {
        let mut c = relay.connect();
        c.ws.send(first).unwrap();
        c.recv_error("malformed");
        c.assert_closed();
    }
    watcher.assert_silent();
}

#[test]
fn rooms_order_commits() {
    let relay = Relay::start(false);
    let mut alice = relay.client("alice");
    let mut bob = relay.client("bob");
    let mut carol = relay.client("carol");
    for _ in 0..2 {
        alice.recv_json();
    }
    bob.recv_json();

    alice.send_text(r#"{"type":"join","room":"r"}"#);
    assert_eq!(
        alice.recv_text(),
        r#"{"type":"room","room":"r","members":["alice"],"epoch":null}"#
    );
    carol.send_text(r#"{"type":"join","room":"r"}"#);
    assert_eq!(carol.recv_json()["members"], json!(["alice", "carol"]));
    assert_eq!(
        alice.recv_text(),
        r#"{"type":"member-joined","room":"r","name":"carol"}"#
    );
    bob.send_text(r#"{"type":"join","room":"r"}"#);
    assert_eq!(bob.recv_json()["members"], json!(["alice", "bob", "carol"]));
    alice.recv_json();
    carol.recv_json();

    // The first commit sets the epoch, whatever it is.
    carol.send_text(r#"{"type":"commit","room":"r","epoch":5,"data":{"c" :1}}"#);
    let expected = r#"{"type":"commit","room":"r","epoch":5,"from":"carol","data":{"c" :1}}"#;
    for c in [&mut alice, &mut bob, &mut carol] {
        assert_eq!(c.recv_text(), expected);
    }

    // Two commits for epoch 6: one wins, delivered to all, the committer
    // included; the other is rejected with the epoch now expected.
    alice.send_text(r#"{"type":"commit","room":"r","epoch":6,"data":{"by":"alice"}}"#);
    bob.send_text(r#"{"type":"commit","room":"r","epoch":6,"data":{"by":"bob"}}"#);
    let winner = carol.recv_json();
    assert_eq!(winner["type"], "commit", "{winner}");
    assert_eq!(winner["epoch"], 6);
    let won = winner["from"].as_str().unwrap().to_owned();
    assert_eq!(winner["data"]["by"], won);
    let (mut w, mut l) = if won == "alice" {
        (alice, bob)
    } else {
        (bob, alice)
    };
    assert_eq!(w.recv_json(), winner);
    let mut got = [l.recv_json(), l.recv_json()];
    got.sort_by_key(|v| v["type"].as_str().unwrap().to_owned());
    assert_eq!(got[0], winner);
    assert_eq!(
        got[1],
        json!({"type": "commit-rejected", "room": "r", "epoch": 6, "current": 7})
    );
    let lost = if won == "alice" { "bob" } else { "alice" };
    // The loser commits again, on epoch 7: accepted.
    l.send_text(r#"{"type":"commit","room":"r","epoch":7,"data":{}}"#);
    for c in [&mut w, &mut l, &mut carol] {
        let v = c.recv_json();
        assert_eq!(
            (v["epoch"].as_u64(), v["from"].as_str()),
            (Some(7), Some(lost))
        );
    }
    // An old epoch, a future epoch: rejected.
    for epoch in [3, 9] {
        carol.send_text(&format!(
            r#"{{"type":"commit","room":"r","epoch":{epoch},"data":{{}}}}"#
        ));
        let v = carol.recv_json();
        assert_eq!(
            (v["type"].as_str(), v["current"].as_u64()),
            (Some("commit-rejected"), Some(8))
        );
    }
    w.assert_silent();

    // A newcomer learns the epoch; outsiders may not commit or broadcast.
    let mut dave = relay.client("dave");
    dave.send_text(r#"{"type":"commit","room":"r","epoch":8,"data":{}}"#);
    dave.recv_error("not-a-member");
    dave.send_text(r#"{"type":"broadcast","room":"r","data":{}}"#);
    dave.recv_error("not-a-member");
    dave.send_text(r#"{"type":"leave","room":"r"}"#);
    dave.recv_error("not-a-member");
    dave.send_text(r#"{"type":"join","room":"not a room"}"#);
    dave.recv_error("invalid-name");
    dave.send_text(r#"{"type":"join","room":"r"}"#);
    assert_eq!(dave.recv_json()["epoch"], 8);

    // Broadcasts reach every other member, data unchanged.
    for c in [&mut w, &mut l, &mut carol] {
        let v = c.recv_json();
        assert!(v["type"] == "peer-joined" || v["type"] == "member-joined");
        let v = c.recv_json();
        assert!(v["type"] == "peer-joined" || v["type"] == "member-joined");
    }
    dave.send_text(r#"{"type":"broadcast","room":"r","data":{"kp" : [1,2]}}"#);
    for c in [&mut w, &mut l, &mut carol] {
        assert_eq!(
            c.recv_text(),
            r#"{"type":"broadcast","room":"r","from":"dave","data":{"kp" : [1,2]}}"#
        );
    }
    dave.assert_silent();
}

#[test]
fn members_leave_and_disconnect() {
    let relay = Relay::start(false);
    let mut alice = relay.client("alice");
    let mut bob = relay.client("bob");
    let mut carol = relay.client("carol");
    for _ in 0..2 {
        alice.recv_json();
    }
    bob.recv_json();
    for c in [&mut alice, &mut bob, &mut carol] {
        c.send_text(r#"{"type":"join","room":"r"}"#);
    }
    // Replies and member-joined events.
    for _ in 0..3 {
        alice.recv_json();
    }
    for _ in 0..2 {
        bob.recv_json();
    }
    carol.recv_json();

    // leave: every member is told, the leaver too.
    carol.send_text(r#"{"type":"leave","room":"r"}"#);
    let left = r#"{"type":"member-left","room":"r","name":"carol"}"#;
    for c in [&mut alice, &mut bob, &mut carol] {
        assert_eq!(c.recv_text(), left);
    }
    // Disconnecting: member-left in each room, then peer-left to everyone.
    drop(bob);
    assert_eq!(
        alice.recv_text(),
        r#"{"type":"member-left","room":"r","name":"bob"}"#
    );
    assert_eq!(alice.recv_text(), r#"{"type":"peer-left","name":"bob"}"#);
    assert_eq!(carol.recv_text(), r#"{"type":"peer-left","name":"bob"}"#);
    carol.assert_silent();
    // The name is free again.
    let (_bob, welcome) = relay.join("bob");
    assert_eq!(welcome["peers"], json!(["alice", "carol"]));
    carol.recv_json(); // peer-joined bob

    // A client is in at most 64 rooms; joining twice changes nothing.
    for i in 0..64 {
        carol.send_text(&format!(r#"{{"type":"join","room":"r{i}"}}"#));
        assert_eq!(carol.recv_json()["members"], json!(["carol"]));
    }
    carol.send_text(r#"{"type":"join","room":"one-more"}"#);
    carol.recv_error("too-many-rooms");
    carol.send_text(r#"{"type":"join","room":"r0"}"#);
    assert_eq!(carol.recv_json()["members"], json!(["carol"]));
    carol.assert_silent();
}

#[test]
fn ctrl_c_stops_the_relay_and_closes_connections() {
    let mut relay = Relay::start(false);
    let mut alice = relay.client("alice");
    let status = Command::new("kill")
        .args(["-INT", &relay.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(alice.assert_closed(), Some(1000));
    let status = relay.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let logs = relay.logs_with("stopped");
    assert!(logs.contains("stopped"), "{logs}");
}

#[test]
fn binary_frames_are_routed() {
    let relay = Relay::start(false);
    let mut alice = relay.client("alice");
    let mut bob = relay.client("bob");
    let mut carol = relay.client("carol");
    for _ in 0..2 {
        alice.recv_json();
    }
    bob.recv_json();

    alice.send_frame("bob", b"\x00frame\xff");
    assert_eq!(bob.recv_binary(), b"\x05alice\x00frame\xff");
    bob.send_frame("alice", b"");
    assert_eq!(alice.recv_binary(), b"\x03bob");

    // A room: every other member, not the sender, not outsiders.
    for c in [&mut alice, &mut bob] {
        c.send_text(r#"{"type":"join","room":"r"}"#);
        c.recv_json();
    }
    alice.recv_json(); // member-joined bob
    alice.send_frame("#r", b"to the room");
    assert_eq!(bob.recv_binary(), b"\x05aliceto the room");
    alice.assert_silent();
    carol.assert_silent();
    carol.send_frame("#r", b"x");
    carol.recv_error("not-a-member");

    // Unknown recipient: one error, then silence for a second.
    for _ in 0..5 {
        alice.send_frame("nobody", b"x");
    }
    alice.recv_error("unknown-peer");
    alice.assert_silent();
    thread::sleep(Duration::from_millis(800));
    alice.send_frame("nobody", b"x");
    alice.recv_error("unknown-peer");
}

#[test]
fn messages_over_one_mebibyte_are_refused() {
    let relay = Relay::start(false);
    let mut alice = relay.client("alice");
    let mut bob = relay.client("bob");
    alice.recv_json();
    // Exactly 1 MiB passes.
    let frame = vec![7u8; (1 << 20) - 4];
    alice.send_frame("bob", &frame);
    let got = bob.recv_binary();
    assert_eq!(got.len(), 6 + frame.len());
    assert_eq!(&got[6..], &frame[..]);
    // One byte more does not.
    let frame = vec![7u8; (1 << 20) - 3];
    alice.send_frame("bob", &frame);
    alice.recv_error("too-large");
    assert_eq!(alice.assert_closed(), Some(1009));
    assert_eq!(bob.recv_text(), r#"{"type":"peer-left","name":"alice"}"#);
    // Text too.
    let mut carol = relay.client("carol");
    let text = format!(
        r#"{{"type":"signal","to":"bob","data":{{"x":"{}"}}}}"#,
        "a".repeat(1 << 20)
    );
    carol.send_text(&text);
    carol.recv_error("too-large");
    carol.assert_closed();
}

#[test]
fn the_relay_serves_256_clients() {
    let relay = Relay::start(false);
    let clients: Vec<Client> = (0..256).map(|i| relay.client(&format!("c{i}"))).collect();
    let mut late = relay.connect();
    late.recv_error("full");
    late.assert_closed();
    drop(clients);
    // Slots free up as the relay sees the connections go.
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        let mut c = relay.connect();
        c.send_text(r#"{"type":"hello","name":"late"}"#);
        if c.recv_json()["type"] == "welcome" {
            break;
        }
        assert!(Instant::now() < deadline, "no slot freed");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_client_that_does_not_read_is_disconnected() {
    let relay = Relay::start(false);
    let mut alice = relay.client("alice");
    let bob = relay.client("bob");
    alice.recv_json();
    // 64 MiB for bob, who reads nothing: more than the socket buffers and
    // his 16 MiB queue hold.
    let frame = vec![1u8; 1 << 19];
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut sent = 0;
    loop {
        alice.send_frame("bob", &frame);
        sent += 1;
        alice.set_timeout(Duration::from_millis(1));
        let got = alice.ws.read();
        alice.set_timeout(READ_TIMEOUT);
        match got {
            Ok(Message::Text(t)) => {
                assert_eq!(t.as_str(), r#"{"type":"peer-left","name":"bob"}"#);
                break;
            }
            Ok(other) => panic!("{other:?}"),
            Err(_) => {}
        }
        assert!(
            sent < 128 && Instant::now() < deadline,
            "bob was never dropped"
        );
    }
    let logs = relay.logs_with("not reading");
    assert!(logs.contains("bob: dropped"), "{logs}");
    drop(bob);
}

/// One side of a call over the relay.
struct Party {
    name: &'static str,
    peer: &'static str,
    client: Client,
    identity: IdentityKeyPair,
    store: MemoryIdentityStore,
    session: Option<CallSession>,
    media: Option<(MediaSender, MediaReceiver)>,
}

impl Party {
    fn new(relay: &Relay, name: &'static str, peer: &'static str) -> Self {
        Party {
            name,
            peer,
            client: relay.client(name),
            identity: IdentityKeyPair::generate().unwrap(),
            store: MemoryIdentityStore::new(),
            session: None,
            media: None,
        }
    }

    fn send_call(&mut self, msg: &[u8]) {
        let data = json!({"call": Base64::encode_string(msg)});
        let text = json!({"type": "signal", "to": self.peer, "data": data});
        self.client.send_text(&text.to_string());
    }

    fn call(&mut self) {
        let peer = ExpectedPeer::new(self.peer).unwrap();
        let (session, commit) =
            CallSession::initiate_random(&self.identity, self.name, &peer, &Default::default())
                .unwrap();
        self.session = Some(session);
        self.send_call(&commit);
    }

    /// Handles the call messages that arrive within a short while; whether
    /// any did.
    fn step(&mut self) -> bool {
        self.client.set_timeout(Duration::from_millis(50));
        let got = self.client.ws.read();
        self.client.set_timeout(READ_TIMEOUT);
        let text = match got {
            Ok(Message::Text(t)) => t.as_str().to_owned(),
            Ok(other) => panic!("{}: unexpected {other:?}", self.name),
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                return false;
            }
            Err(e) => panic!("{}: {e}", self.name),
        };
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["type"], "signal", "{}: {v}", self.name);
        assert_eq!(v["from"], self.peer, "{v}");
        let msg = Base64::decode_vec(v["data"]["call"].as_str().unwrap()).unwrap();
        let reply = match &mut self.session {
            None => {
                let (session, response) = CallSession::respond_random(
                    &self.identity,
                    self.name,
                    None,
                    &msg,
                    &Default::default(),
                )
                .unwrap();
                self.session = Some(session);
                Some(response)
            }
            Some(session) => {
                let handled = session.handle(&msg, &mut self.store).unwrap();
                assert!(handled.ignored.is_none(), "{}: {handled:?}", self.name);
                if let Some(update) = handled.media {
                    self.apply(update);
                }
                handled.reply
            }
        };
        let session = self.session.as_mut().unwrap();
        if self.media.is_none() && session.security_code().is_some() {
            let (sender, receiver) = session.take_media().unwrap();
            self.media = Some((MediaSender::new(sender), MediaReceiver::new(receiver)));
        }
        if let Some(reply) = reply {
            self.send_call(&reply);
        }
        true
    }

    fn apply(&mut self, update: MediaUpdate) {
        let (sender, receiver) = self.media.as_mut().unwrap();
        update
            .apply(sender.sender_mut(), receiver.receiver_mut())
            .unwrap();
    }

    fn code(&self) -> String {
        self.session
            .as_ref()
            .and_then(|s| s.security_code())
            .unwrap()
            .to_string()
    }

    fn epoch(&self) -> u32 {
        self.session.as_ref().unwrap().epoch()
    }

    /// Encrypts `payload` as a frame of `codec` and sends it to the peer;
    /// returns the encrypted frame.
    fn send_media(&mut self, codec: Codec, payload: &[u8]) -> Vec<u8> {
        let (sender, _) = self.media.as_mut().unwrap();
        let mut frame = Vec::new();
        sender.encrypt_frame(codec, payload, &mut frame).unwrap();
        let peer = self.peer;
        self.client.send_frame(peer, &frame);
        frame
    }

    /// Receives a frame from the peer: its bytes and what they decrypt to.
    fn recv_media(&mut self) -> (Vec<u8>, Codec, Vec<u8>) {
        let m = self.client.recv_binary();
        let header = 1 + self.peer.len();
        assert_eq!(m[0] as usize, self.peer.len());
        assert_eq!(&m[1..header], self.peer.as_bytes());
        let frame = m[header..].to_vec();
        let (_, receiver) = self.media.as_mut().unwrap();
        let mut plain = Vec::new();
        let info = receiver.decrypt_frame(&frame, &mut plain).unwrap();
        (frame, info.codec, plain)
    }
}

/// Alice calls Bob over the relay; both sides handle what arrives until
/// both hold their media keys.
fn call(relay: &Relay) -> (Party, Party) {
    let mut alice = Party::new(relay, "alice", "bob");
    let mut bob = Party::new(relay, "bob", "alice");
    alice.client.recv_json(); // peer-joined bob
    alice.call();
    settle(&mut alice, &mut bob);
    assert!(alice.media.is_some() && bob.media.is_some());
    (alice, bob)
}

/// Handles call messages on both sides until none arrives.
fn settle(a: &mut Party, b: &mut Party) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut idle = 0;
    while idle < 3 {
        assert!(Instant::now() < deadline, "the signalling did not settle");
        let moved = a.step() | b.step();
        idle = if moved { 0 } else { idle + 1 };
    }
}

/// An Opus frame (TOC byte first) and a generic frame each way.
fn exchange(alice: &mut Party, bob: &mut Party, relay_reencrypts: bool) {
    let opus = [0x78, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66];
    let generic: Vec<u8> = (0..200u8).collect();
    for (from_alice, codec, payload) in [
        (true, Codec::Opus, &opus[..]),
        (false, Codec::Opus, &opus[..]),
        (true, Codec::Generic, &generic[..]),
        (false, Codec::Generic, &generic[..]),
    ] {
        let (tx, rx) = if from_alice {
            (&mut *alice, &mut *bob)
        } else {
            (&mut *bob, &mut *alice)
        };
        let sent = tx.send_media(codec, payload);
        let (got, got_codec, plain) = rx.recv_media();
        assert_eq!(got_codec, codec);
        assert_eq!(plain, payload);
        if relay_reencrypts {
            assert_ne!(got, sent, "the relay should have re-encrypted the frame");
        } else {
            assert_eq!(got, sent, "the relay changed the frame");
        }
    }
}

#[test]
fn a_call_through_an_honest_relay() {
    let relay = Relay::start(false);
    let (mut alice, mut bob) = call(&relay);
    assert_eq!(alice.code(), bob.code());
    exchange(&mut alice, &mut bob, false);
    // An in-call rekey: the relay only forwards it.
    let offer = alice.session.as_mut().unwrap().rekey().unwrap();
    alice.send_call(&offer);
    settle(&mut alice, &mut bob);
    assert_eq!((alice.epoch(), bob.epoch()), (1, 1));
    exchange(&mut alice, &mut bob, false);
    let logs = relay.logs_with("hello bob");
    assert!(!logs.contains(&alice.code()), "{logs}");
}

#[test]
fn a_man_in_the_middle_relay_reencrypts_and_the_codes_differ() {
    let relay = Relay::start(true);
    let (mut alice, mut bob) = call(&relay);
    let (alice_code, bob_code) = (alice.code(), bob.code());
    assert_ne!(alice_code, bob_code);
    // Signals that are not call messages pass unchanged.
    for data in [
        r#"{"sdp" : "v=0", "call":7}"#,
        r#"{ "call":"not base64!" }"#,
    ] {
        alice
            .client
            .send_text(&format!(r#"{{"type":"signal","to":"bob","data":{data}}}"#));
        assert_eq!(
            bob.client.recv_text(),
            format!(r#"{{"type":"signal","from":"alice","data":{data}}}"#)
        );
    }
    exchange(&mut alice, &mut bob, true);
    // The relay logs both legs' codes: the ones each victim sees.
    let logs = relay.logs_with("the codes differ");
    assert!(
        logs.contains(&format!("alice sees {alice_code}, bob sees {bob_code}")),
        "{logs}"
    );

    // A rekey on each leg, offered by alice then by bob: the relay applies
    // its media updates and frames keep decoding both ways.
    let offer = alice.session.as_mut().unwrap().rekey().unwrap();
    alice.send_call(&offer);
    settle(&mut alice, &mut bob);
    assert_eq!((alice.epoch(), bob.epoch()), (1, 0));
    exchange(&mut alice, &mut bob, true);
    let offer = bob.session.as_mut().unwrap().rekey().unwrap();
    bob.send_call(&offer);
    settle(&mut alice, &mut bob);
    assert_eq!((alice.epoch(), bob.epoch()), (1, 1));
    exchange(&mut alice, &mut bob, true);
    assert_eq!((alice.code(), bob.code()), (alice_code, bob_code));

    // A frame the relay cannot decrypt is dropped, not forwarded.
    alice.client.send_frame("bob", b"not a frame");
    bob.client.assert_silent();
    drop(alice);
    let logs = relay.logs_with("ended");
    assert!(logs.contains("12 frames re-encrypted, 1 dropped"), "{logs}");
}

/// Review (holds): a client cannot put another client's name on what the
/// relay delivers (a `from` of its own in a request is ignored, a member
/// named twice is refused), and `data` the browser's JSON.parse accepts
/// (lone surrogate escapes, deep nesting) goes on byte for byte or is
/// refused, never altered.
#[test]
fn review_no_spoofed_from_and_data_never_altered() {
    let relay = Relay::start(false);
    let mut alice = relay.client("alice");
    let mut bob = relay.client("bob");
    let _carol = relay.client("carol");
    alice.recv_json(); // peer-joined bob
    alice.recv_json(); // peer-joined carol
    bob.recv_json(); // peer-joined carol
    alice.send_text(r#"{"type":"signal","from":"carol","to":"bob","data":{"x":1}}"#);
    assert_eq!(
        bob.recv_text(),
        r#"{"type":"signal","from":"alice","data":{"x":1}}"#
    );
    for twice in [
        r#"{"type":"signal","to":"carol","to":"bob","data":{}}"#,
        r#"{"type":"signal","to":"bob","data":{},"data":{"a":1}}"#,
        r#"{"type":"join","type":"signal","to":"bob","room":"r","data":{}}"#,
    ] {
        alice.send_text(twice);
        alice.recv_error("malformed");
    }
    bob.assert_silent();
    let data = r#"{"s":"\ud800\udfff\udc00","n":"\u0000","k":{"":[[[[]]]]}}"#;
    alice.send_text(&format!(r#"{{"type":"signal","to":"bob","data":{data}}}"#));
    bob.set_timeout(Duration::from_millis(500));
    match bob.ws.read() {
        Ok(Message::Text(text)) => assert_eq!(
            text.as_str(),
            format!(r#"{{"type":"signal","from":"alice","data":{data}}}"#)
        ),
        Err(tungstenite::Error::Io(_)) => alice.recv_error("malformed"),
        other => panic!("unexpected {other:?}"),
    }
    bob.set_timeout(READ_TIMEOUT);
    // A frame naming a sender in its payload is still from its real sender.
    alice.send_frame("bob", b"\x05carolhello");
    assert_eq!(bob.recv_binary(), b"\x05alice\x05carolhello");
}
