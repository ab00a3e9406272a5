"""Meetings through the Python bindings: real MLS, codes, media, removal and
refused handshake messages (PROTOCOL.md §4)."""

import json

import pytest

import callseal

POLICY = json.dumps({"version": 1, "policies": [{
    "Identity": "Global",
    "CallingEndtoEndEncryptionEnabledType": "Disabled",
    "MeetingEndToEndEncryption": "DisabledUserOverride",
    "Description": "",
}]})


def test_members_share_codes_and_media_and_removal_locks_out():
    policy = callseal.PolicyDocument.from_json(POLICY)
    organizer = callseal.MeetingSession.create(callseal.MeetingClient("olga", "desktop-mac"), policy, 1, 0)
    pete_client = callseal.MeetingClient("pete", "android")
    added = organizer.add(pete_client.key_package())
    organizer.commit_accepted(0)
    pete = callseal.MeetingSession.join(pete_client, added.welcome, policy, 0)
    assert pete.code() == organizer.code() and pete.epoch() == organizer.epoch()
    got = pete.decrypt(organizer.encrypt("VP8", bytes([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]) + bytes(20)), 1)
    assert not got.held and got.frame.codec == "VP8"
    removal = organizer.remove("pete")
    organizer.commit_accepted(2)
    assert pete.handle_commit(removal.commit, 2)[0].removed_self
    with pytest.raises(callseal.CallsealError):
        pete.decrypt(organizer.encrypt("generic", b"later"), 3)


def test_refusals_are_typed():
    with pytest.raises(callseal.CallsealError.PolicyForbids):
        callseal.MeetingSession.create(callseal.MeetingClient("o", "ios"), callseal.PolicyDocument(), 4, 0)
    organizer = callseal.MeetingSession.create(
        callseal.MeetingClient("o", "ios"), callseal.PolicyDocument.from_json(POLICY), 4, 0)
    with pytest.raises(callseal.CallsealError.PolicyForbids):
        organizer.add(callseal.MeetingClient("v", "vdi").key_package())
    with pytest.raises(callseal.CallsealError.Malformed):
        organizer.handle_commit(b"\x00\x01", 0)
    with pytest.raises(callseal.CallsealError.InvalidArgument):
        callseal.MeetingClient("x", "linux")
