"""The Python bindings against the real library: behaviour, typed errors,
threads, and that failures never take the interpreter down."""

import json
import os
import re
import threading
from pathlib import Path

import pytest

import callseal


def test_version_is_the_workspace_version():
    assert callseal.version() == os.environ["CALLSEAL_VERSION"]


def test_the_suite_runs_against_the_installed_wheel():
    """Unmarked tests run against the package pip installed from the wheel
    (no PYTHONPATH): callseal is a package in site-packages with the
    library inside, and its metadata carries the workspace version."""
    from importlib import metadata

    folder = Path(callseal.__file__).parent
    assert Path(callseal.__file__).name == "__init__.py"
    assert "site-packages" in folder.parts
    assert any(f.name.startswith("libcallseal_ffi") for f in folder.iterdir())
    assert metadata.version("callseal") == os.environ["CALLSEAL_VERSION"]


def test_frames_round_trip_and_replays_are_refused(key):
    sender = callseal.FrameSender(4, 7, key)
    receiver = callseal.FrameReceiver()
    receiver.add_key(7, 4, key)
    assert receiver.has_key(7) and sender.kid() == 7 and sender.next_counter() == 0
    frame = sender.encrypt(b"meta", b"hello")
    assert sender.next_counter() == 1
    assert receiver.decrypt(b"meta", frame) == b"hello"
    with pytest.raises(callseal.CallsealError.Replay) as caught:
        receiver.decrypt(b"meta", frame)
    assert caught.value.code() == "replay"
    assert receiver.remove_key(7) and not receiver.has_key(7)


def failing_calls(key):
    """(expected code, a call that must fail with it)."""

    def unknown_kid():
        frame = callseal.FrameSender(4, 8, key).encrypt(b"", b"abc")
        callseal.FrameReceiver().decrypt(b"", frame)

    def wrong_key():
        frame = callseal.FrameSender(4, 7, key).encrypt(b"", b"abc")
        receiver = callseal.FrameReceiver()
        receiver.add_key(7, 4, bytes(16))
        receiver.decrypt(b"", frame)

    def answer_own_commit():
        start = callseal.initiate_call(callseal.IdentityKeyPair.generate(), "alice", callseal.ExpectedPeer(uid="bob"))
        start.session.handle(start.message, callseal.IdentityStore.memory())

    def answer_a_call_to_someone_else():
        start = callseal.initiate_call(callseal.IdentityKeyPair.generate(), "alice", callseal.ExpectedPeer(uid="bob"))
        callseal.respond_to_call(callseal.IdentityKeyPair.generate(), "eve", start.message)

    def short_tags_not_allowed():
        callseal.initiate_call(
            callseal.IdentityKeyPair.generate(), "alice", callseal.ExpectedPeer(uid="bob"), callseal.CallConfig(suite=3)
        )

    return [
        ("malformed", lambda: callseal.FrameReceiver().decrypt(b"", b"")),
        ("invalid-argument", lambda: callseal.FrameSender(9, 1, key)),
        ("invalid-argument", lambda: callseal.FrameSender(4, 1, b"")),
        ("invalid-argument", lambda: callseal.FrameReceiver.with_config(0, 16, 8)),
        ("invalid-argument", lambda: callseal.MediaSender(4, 1, key).encrypt_frame("VP7", bytes(4))),
        ("invalid-argument", lambda: callseal.MediaSender(4, 1, key).ratchet()),
        ("invalid-argument", lambda: callseal.IdentityKeyPair.from_bytes(bytes(31))),
        ("unknown-key-id", unknown_kid),
        ("authentication-failed", wrong_key),
        ("malformed", lambda: callseal.MediaReceiver().decrypt_frame(b"\x01")),
        ("protocol-violation", answer_own_commit),
        ("wrong-peer", answer_a_call_to_someone_else),
        ("invalid-argument", short_tags_not_allowed),
    ]


def test_failures_are_typed_exceptions_and_the_interpreter_lives_on(key, tmp_path):
    calls = failing_calls(key)
    corrupt = tmp_path / "store.json"
    corrupt.write_text("not json")
    calls.append(("storage", lambda: callseal.IdentityStore.open(str(corrupt))))
    for _ in range(3):
        for expected, call in calls:
            with pytest.raises(callseal.CallsealError) as caught:
                call()
            assert caught.value.code() == expected
            assert str(caught.value)
    # Still alive and working.
    assert len(callseal.FrameSender(4, 1, key).encrypt(b"", bytes(17))) == 1 + 17 + 16


def test_an_exhausted_sender_refuses_to_encrypt(key):
    sender = callseal.FrameSender.starting_at(4, 1, key, 2**64 - 1)
    sender.encrypt(b"", b"x")
    assert sender.next_counter() is None
    with pytest.raises(callseal.CallsealError.KeyExhausted):
        sender.encrypt(b"", b"x")


def test_u64_values_survive_the_boundary(key):
    sender = callseal.FrameSender.starting_at(4, 2**64 - 1, key, 2**53 + 1)
    assert sender.kid() == 2**64 - 1
    assert sender.next_counter() == 2**53 + 1
    with pytest.raises((OverflowError, ValueError, TypeError)):
        callseal.FrameSender(4, 2**64, key)


def test_objects_are_shared_across_threads(key):
    sender = callseal.FrameSender(1, 3, key)
    receiver = callseal.FrameReceiver()
    receiver.add_key(3, 1, key)
    frames, lock = [], threading.Lock()

    def work(t):
        made = [sender.encrypt(b"", f"t{t} n{n}".encode()) for n in range(200)]
        with lock:
            frames.extend(made)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sender.next_counter() == 800
    assert len({receiver.decrypt(b"", f) for f in frames}) == 800


def test_a_call_verifies_once_and_remembers(tmp_path):
    alice, bob = callseal.IdentityKeyPair.generate(), callseal.IdentityKeyPair.generate()
    alice_store = callseal.IdentityStore.open(str(tmp_path / "alice.json"))
    bob_store = callseal.IdentityStore.open(str(tmp_path / "bob.json"))

    def call(bob_key):
        a = callseal.initiate_call(alice, "alice", callseal.ExpectedPeer(uid="bob"))
        b = callseal.respond_to_call(bob_key, "bob", a.message)
        reveal = a.session.handle(b.message, alice_store).reply
        confirm = b.session.handle(reveal, bob_store).reply
        assert a.session.handle(confirm, alice_store).reply is None
        return a.session, b.session

    a1, b1 = call(bob)
    assert a1.state() == callseal.CallState.ENCRYPTED
    assert a1.indicator() == callseal.Indicator.LOCK_AND_SHIELD
    assert a1.peer_status() == callseal.PeerStatus.NEW
    assert re.fullmatch(r"\d{5} \d{5} \d{5} \d{5}", a1.security_code())
    assert a1.security_code() == b1.security_code()
    a1.mark_verified(alice_store)
    assert a1.state() == callseal.CallState.VERIFIED
    stored = json.loads((tmp_path / "alice.json").read_text())
    assert stored["bob"] == {"key": bob.public_key().hex(), "verified": True}

    am, bm = a1.take_media(), b1.take_media()
    first_kid = am.sender.kid()
    assert bm.receiver.decrypt_frame(am.sender.encrypt_frame("Opus", b"\x78one")).payload == b"\x78one"
    am.sender.ratchet()
    assert am.sender.kid() != first_kid
    assert bm.receiver.decrypt_frame(am.sender.encrypt_frame("generic", b"\x01")).kid == am.sender.kid()
    with pytest.raises(callseal.CallsealError.ProtocolViolation):
        a1.take_media()

    a2, _ = call(bob)
    assert a2.peer_status() == callseal.PeerStatus.KNOWN_VERIFIED
    assert a2.state() == callseal.CallState.VERIFIED
    a3, _ = call(callseal.IdentityKeyPair.generate())
    assert a3.peer_status() == callseal.PeerStatus.CHANGED
    assert a3.state() == callseal.CallState.ENCRYPTED


def establish(config=None):
    """A completed call: (alice's session, bob's, alice's store, bob's store)."""
    config = config or callseal.CallConfig()
    stores = callseal.IdentityStore.memory(), callseal.IdentityStore.memory()
    a = callseal.initiate_call(callseal.IdentityKeyPair.generate(), "alice", callseal.ExpectedPeer(uid="bob"), config)
    b = callseal.respond_to_call(
        callseal.IdentityKeyPair.generate(), "bob", a.message, callseal.ExpectedPeer(uid="alice"), config
    )
    reveal = a.session.handle(b.message, stores[0])
    confirm = b.session.handle(reveal.reply, stores[1])
    last = a.session.handle(confirm.reply, stores[0])
    assert (last.reply, last.media, last.ignored) == (None, None, None)
    return a.session, b.session, stores[0], stores[1]


def test_a_call_rekeys_in_each_direction_with_media_both_ways():
    alice, bob, alice_store, bob_store = establish()
    am, bm = alice.take_media(), bob.take_media()
    sides = {"alice": (alice, alice_store, am), "bob": (bob, bob_store, bm)}
    for epoch, (offering, answering) in enumerate([("bob", "alice"), ("alice", "bob")], start=1):
        offerer, o_store, o_media = sides[offering]
        answerer, a_store, a_media = sides[answering]
        offer = offerer.rekey()
        assert offerer.rekey_pending() and offerer.rekey() == offer
        answer = answerer.handle(offer, a_store)
        answer.media.apply(a_media.sender, a_media.receiver)
        done = offerer.handle(answer.reply, o_store)
        done.media.apply(o_media.sender, o_media.receiver)
        finished = answerer.handle(done.reply, a_store)
        assert finished.reply is None and finished.media.changes_sender()
        finished.media.apply_to_sender(a_media.sender)
        finished.media.apply_to_receiver(a_media.receiver)
        assert alice.epoch() == bob.epoch() == epoch and not offerer.rekey_pending()
        # Generation 2n+1 (alice) and 2n+2 (bob), ratchet step 0.
        frame = bm.receiver.decrypt_frame(am.sender.encrypt_frame("Opus", b"\x78hi"))
        assert (frame.payload, frame.kid) == (b"\x78hi", (2 * epoch + 1) << 8)
        frame = am.receiver.decrypt_frame(bm.sender.encrypt_frame("generic", b"back"))
        assert (frame.payload, frame.kid) == (b"back", (2 * epoch + 2) << 8)
    assert alice.security_code() == bob.security_code()


def test_the_wrong_peer_is_refused():
    alice, bob, eve = (callseal.IdentityKeyPair.generate() for _ in range(3))
    pinned = callseal.initiate_call(alice, "alice", callseal.ExpectedPeer(uid="bob", identity=bob.public_key()))
    with pytest.raises(callseal.CallsealError.WrongPeer):
        callseal.respond_to_call(eve, "eve", pinned.message)
    with pytest.raises(callseal.CallsealError.WrongPeer):
        callseal.respond_to_call(bob, "bob", pinned.message, callseal.ExpectedPeer(uid="carol"))
    forged = callseal.respond_to_call(eve, "bob", pinned.message)
    with pytest.raises(callseal.CallsealError.WrongPeer) as caught:
        pinned.session.handle(forged.message, callseal.IdentityStore.memory())
    assert caught.value.code() == "wrong-peer"
    assert pinned.session.state() == callseal.CallState.FAILED


def test_an_established_call_ignores_stray_messages():
    alice, bob, alice_store, bob_store = establish()
    _, other_bob, _, _ = establish()
    offer = alice.rekey()
    for why, receiver, store, message in [
        ("malformed", bob, bob_store, b"\x02\x05"),
        ("other-session", bob, bob_store, other_bob.rekey()),
        ("bad-mac", alice, alice_store, offer),  # reflected
        ("bad-mac", bob, bob_store, offer[:-1] + bytes([offer[-1] ^ 1])),
    ]:
        handled = receiver.handle(message, store)
        assert (handled.ignored, handled.reply, handled.media) == (why, None, None), why
    assert bob.state() == callseal.CallState.ENCRYPTED
    assert bob.handle(offer, bob_store).reply is not None


def test_rekey_due_follows_the_configured_period():
    assert callseal.CallConfig() == callseal.CallConfig(suite=4, allow_short_tags=False, rekey_every_ms=600_000)
    alice, _, _, _ = establish(callseal.CallConfig(rekey_every_ms=1000))
    assert not alice.rekey_due(10)
    assert not alice.rekey_due(1009)
    assert alice.rekey_due(1010)


def test_the_shipping_module_has_no_scripted_functions():
    """Unmarked tests run against the shipping library: it exports no fixed
    randomness (the Cargo feature `conformance` is off)."""
    names = [n for n in dir(callseal) if "scripted" in n.lower() or n == "error_codes"]
    names += [n for n in dir(callseal.CallSession) if "scripted" in n.lower()]
    assert names == []


def test_secrets_stay_out_of_repr(key):
    identity = callseal.IdentityKeyPair.generate()
    secret = identity.to_bytes()
    assert len(secret) == 32
    assert callseal.IdentityKeyPair.from_bytes(secret).public_key() == identity.public_key()
    for text in (repr(identity), str(identity), repr(callseal.FrameSender(4, 1, key))):
        assert secret.hex() not in text and key.hex() not in text
