"""Replays the committed conformance files through the Python bindings:
every byte must match what the core wrote."""

import callseal
from conftest import code_of, load_cases, unhex


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
        return code_of(e)
    return None


def test_errors_replay_with_the_same_kinds():
    for c in load_cases("errors.json"):
        assert run_error_case(c) == c["error"], c["name"]


def test_calls_replay_messages_codes_and_first_frames():
    cases = load_cases("calls.json")
    for c in cases:
        i, r = c["initiator"], c["responder"]
        messages = [unhex(m) for m in c["messages"]]
        i_store, r_store = callseal.IdentityStore.memory(), callseal.IdentityStore.memory()
        i_start = callseal.initiate_call_scripted(
            callseal.IdentityKeyPair.from_bytes(unhex(i["identity_secret"])), i["uid"], c["suite"], unhex(i["entropy"])
        )
        assert i_start.message == messages[0], c["name"]
        r_start = callseal.respond_to_call_scripted(
            callseal.IdentityKeyPair.from_bytes(unhex(r["identity_secret"])), r["uid"], i_start.message, unhex(r["entropy"])
        )
        assert r_start.message == messages[1], c["name"]
        reveal = i_start.session.handle(r_start.message, i_store)
        assert reveal == messages[2], c["name"]
        confirm = r_start.session.handle(reveal, r_store)
        assert confirm == messages[3], c["name"]
        assert i_start.session.handle(confirm, i_store) is None

        assert i_start.session.security_code() == c["security_code"], c["name"]
        assert r_start.session.security_code() == c["security_code"], c["name"]
        assert i_start.session.peer_uid() == r["uid"]
        assert r_start.session.peer_uid() == i["uid"]

        first = c["first_frames"]
        payload = unhex(first["payload"])
        i_media, r_media = i_start.session.take_media(), r_start.session.take_media()
        i_to_r = i_media.sender.encrypt_frame(first["codec"], payload)
        r_to_i = r_media.sender.encrypt_frame(first["codec"], payload)
        assert i_to_r.hex() == first["initiator_to_responder"], c["name"]
        assert r_to_i.hex() == first["responder_to_initiator"], c["name"]
        assert r_media.receiver.decrypt_frame(i_to_r).payload == payload
        assert i_media.receiver.decrypt_frame(r_to_i).payload == payload
    assert len(cases) >= 8
