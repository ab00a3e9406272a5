"""Replays the committed conformance files through the Python bindings:
every byte must match what the core wrote. Runs against the conformance
build (the fixed-randomness functions replay calls.json)."""

import pytest

import callseal
from conftest import load_cases, unhex

pytestmark = pytest.mark.conformance


def test_frames_replay_byte_for_byte():
    cases = load_cases("frames.json")
    for c in cases:
        sender = callseal.FrameSender.starting_at(c["suite"], int(c["kid"]), unhex(c["base_key"]), int(c["counter"]))
        frame = sender.encrypt(unhex(c["metadata"]), unhex(c["payload"]))
        assert frame.hex() == c["frame"], c["name"]
        receiver = callseal.FrameReceiver()
        receiver.add_key(int(c["kid"]), c["suite"], unhex(c["base_key"]))
        assert receiver.decrypt(unhex(c["metadata"]), frame).hex() == c["payload"], c["name"]
    assert {c["suite"] for c in cases} == set(range(1, 9))


def test_media_replay_byte_for_byte():
    cases = load_cases("media.json")
    for c in cases:
        sender = callseal.MediaSender.starting_at(c["suite"], int(c["kid"]), unhex(c["base_key"]), int(c["counter"]))
        protected = sender.encrypt_frame(c["codec"], unhex(c["frame"]))
        assert protected.hex() == c["protected"], c["name"]
        receiver = callseal.MediaReceiver()
        receiver.add_key(int(c["kid"]), c["suite"], unhex(c["base_key"]))
        frame = receiver.decrypt_frame(protected)
        assert frame.payload.hex() == c["decrypted"], c["name"]
        assert (frame.codec, frame.kid, frame.counter) == (c["codec"], int(c["kid"]), int(c["counter"]))
    assert len({c["codec"] for c in cases}) == 7


def run_error_case(c) -> str | None:
    kid, suite, key = int(c["kid"]), c["suite"], unhex(c["base_key"])
    before = [unhex(b) for b in c["before"]]
    try:
        if c["operation"] == "frame-decrypt":
            receiver = callseal.FrameReceiver()
            receiver.add_key(kid, suite, key)
            for frame in before:
                receiver.decrypt(unhex(c["metadata"]), frame)
            receiver.decrypt(unhex(c["metadata"]), unhex(c["input"]))
        elif c["operation"] == "media-decrypt":
            receiver = callseal.MediaReceiver()
            receiver.add_key(kid, suite, key)
            for frame in before:
                receiver.decrypt_frame(frame)
            receiver.decrypt_frame(unhex(c["input"]))
        else:
            raise AssertionError(f"unknown operation {c['operation']}")
    except callseal.CallsealError as e:
        return e.code()
    return None


def test_errors_replay_with_the_same_kinds():
    for c in load_cases("errors.json"):
        assert run_error_case(c) == c["error"], c["name"]


def check_frames(name, frames, i_media, r_media):
    """Each side encrypts the payload to exactly the given frame; the other decrypts it."""
    payload = unhex(frames["payload"])
    i_to_r = i_media.sender.encrypt_frame(frames["codec"], payload)
    r_to_i = r_media.sender.encrypt_frame(frames["codec"], payload)
    assert i_to_r.hex() == frames["initiator_to_responder"], name
    assert r_to_i.hex() == frames["responder_to_initiator"], name
    assert r_media.receiver.decrypt_frame(i_to_r).payload == payload, name
    assert i_media.receiver.decrypt_frame(r_to_i).payload == payload, name


def test_calls_replay_handshake_rekey_and_frames():
    cases = load_cases("calls.json", version=2)
    for c in cases:
        name, i, r = c["name"], c["initiator"], c["responder"]
        messages = [unhex(m) for m in c["messages"]]
        config = callseal.CallConfig(suite=c["suite"], allow_short_tags=c["allow_short_tags"])
        i_store, r_store = callseal.IdentityStore.memory(), callseal.IdentityStore.memory()
        i_identity = callseal.IdentityKeyPair.from_bytes(unhex(i["identity_secret"]))
        r_identity = callseal.IdentityKeyPair.from_bytes(unhex(r["identity_secret"]))
        expected = callseal.ExpectedPeer(uid=r["uid"])
        # Each side draws exactly its entropy: one byte less fails.
        with pytest.raises(callseal.CallsealError.Entropy):
            callseal.initiate_call_scripted(i_identity, i["uid"], expected, config, unhex(i["entropy"])[:-1])
        i_start = callseal.initiate_call_scripted(i_identity, i["uid"], expected, config, unhex(i["entropy"]))
        assert i_start.message == messages[0], name
        r_start = callseal.respond_to_call_scripted(
            r_identity, r["uid"], i_start.message, None, config, unhex(r["entropy"])
        )
        assert r_start.message == messages[1], name
        ini, res = i_start.session, r_start.session
        reveal = ini.handle(r_start.message, i_store)
        assert reveal.reply == messages[2], name
        confirm = res.handle(reveal.reply, r_store)
        assert confirm.reply == messages[3], name
        last = ini.handle(confirm.reply, i_store)
        assert last.reply is None, name
        for handled in (reveal, confirm, last):
            assert handled.media is None and handled.ignored is None, name

        assert ini.security_code() == c["security_code"], name
        assert res.security_code() == c["security_code"], name
        assert ini.peer_uid() == r["uid"] and res.peer_uid() == i["uid"], name
        i_media, r_media = ini.take_media(), res.take_media()
        check_frames(name, c["first_frames"], i_media, r_media)

        rekey = c["rekey"]
        offer_msg, answer_msg, done_msg = (unhex(m) for m in rekey["messages"])
        sides = {"initiator": (ini, i_store, i_media), "responder": (res, r_store, r_media)}
        answerer_role = {"initiator": "responder", "responder": "initiator"}[rekey["offerer"]]
        offerer, o_store, o_media = sides[rekey["offerer"]]
        answerer, a_store, a_media = sides[answerer_role]
        offer = offerer.rekey_scripted(unhex(rekey["offerer_entropy"]))
        assert offer == offer_msg, name
        answer = answerer.handle_scripted(offer, a_store, unhex(rekey["answerer_entropy"]))
        assert answer.reply == answer_msg, name
        answer.media.apply(a_media.sender, a_media.receiver)
        done = offerer.handle(answer.reply, o_store)
        assert done.reply == done_msg, name
        done.media.apply(o_media.sender, o_media.receiver)
        finished = answerer.handle(done.reply, a_store)
        assert finished.reply is None and finished.ignored is None, name
        finished.media.apply(a_media.sender, a_media.receiver)
        for handled in (answer, done, finished):
            assert handled.media.epoch() == rekey["epoch"], name
        assert ini.epoch() == res.epoch() == rekey["epoch"], name
        check_frames(name, rekey["frames"], i_media, r_media)
    assert len(cases) >= 9
    assert {c["suite"] for c in cases} == set(range(1, 9))


def test_every_error_kind_has_its_python_class_and_code():
    """error_codes() is the core's list: one CallsealError subclass per code,
    whose code() (computed by the core, from the error handed back to Rust)
    gives the list, in the core's order."""
    codes = callseal.error_codes()
    assert "wrong-peer" in codes and len(set(codes)) == len(codes)
    classes = [cls for cls in vars(callseal.CallsealError).values()
               if isinstance(cls, type) and issubclass(cls, callseal.CallsealError)]
    assert [cls("why").code() for cls in classes] == codes
    # A real error carries its code too.
    frame = callseal.FrameSender(4, 1, bytes(16)).encrypt(b"", b"x")
    receiver = callseal.FrameReceiver()
    receiver.add_key(1, 4, bytes(16))
    receiver.decrypt(b"", frame)
    with pytest.raises(callseal.CallsealError.Replay) as caught:
        receiver.decrypt(b"", frame)
    assert caught.value.code() == "replay" and caught.value.code() in codes


def test_scripted_randomness_too_short_is_entropy():
    identity = callseal.IdentityKeyPair.generate()
    with pytest.raises(callseal.CallsealError.Entropy):
        callseal.initiate_call_scripted(identity, "a", callseal.ExpectedPeer(uid="b"), callseal.CallConfig(), bytes(10))
