"""Meetings through the Python bindings: real MLS, codes, media, removal,
refused handshake messages, co-organizers and self-updates, and the roster's
identity statuses (PROTOCOL.md §4, §4.7-§4.9)."""

import json

import pytest

import callseal
from policy_signing import verified_policy

POLICY = json.dumps({"version": 1, "policies": [{
    "Identity": "Global",
    "CallingEndtoEndEncryptionEnabledType": "Disabled",
    "MeetingEndToEndEncryption": "DisabledUserOverride",
    "Description": "",
}]})


def test_members_share_codes_and_media_and_removal_locks_out():
    policy = verified_policy(POLICY)
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
        callseal.MeetingSession.create(callseal.MeetingClient("o", "ios"), verified_policy(callseal.PolicyDocument()), 4, 0)
    organizer = callseal.MeetingSession.create(
        callseal.MeetingClient("o", "ios"), verified_policy(POLICY), 4, 0)
    with pytest.raises(callseal.CallsealError.PolicyForbids):
        organizer.add(callseal.MeetingClient("v", "vdi").key_package())
    with pytest.raises(callseal.CallsealError.Malformed):
        organizer.handle_commit(b"\x00\x01", 0)
    with pytest.raises(callseal.CallsealError.InvalidArgument):
        callseal.MeetingClient("x", "linux")


def test_co_organizers_add_members_and_participants_cannot():
    policy = verified_policy(POLICY)
    olga = callseal.MeetingSession.create(callseal.MeetingClient("olga", "desktop-mac"), policy, 4, 0)
    # One commit and one Welcome for two joiners; the policy refuses the third.
    pete_client = callseal.MeetingClient("pete", "android")
    quinn_client = callseal.MeetingClient("quinn", "ios")
    batch = olga.change_membership(
        [pete_client.key_package(), quinn_client.key_package(), callseal.MeetingClient("walt", "web").key_package()],
        [],
    )
    assert [(r.user, r.reason) for r in batch.refused] == [("walt", "unsupported-platform")]
    olga.commit_accepted(0)
    pete = callseal.MeetingSession.join(pete_client, batch.messages.welcome, policy, 0)
    quinn = callseal.MeetingSession.join(quinn_client, batch.messages.welcome, policy, 0)
    everyone = [olga, pete, quinn]
    # Roles go to one device: its leaf index, as members() shows it.
    pete_index = next(m.index for m in olga.members() if m.user == "pete")
    quinn_index = next(m.index for m in olga.members() if m.user == "quinn")

    # The organizer promotes Pete; every member sees the new roles.
    promotion = olga.promote(pete_index)
    assert olga.commit_accepted(1).roles_changed
    for session in (pete, quinn):
        [change] = session.handle_commit(promotion.commit, 1)
        assert change.roles_changed and change.committer == 0
    assert pete.role() == callseal.Role.CO_ORGANIZER
    assert quinn.role() == callseal.Role.PARTICIPANT
    assert quinn.organizer() == 0
    assert [m.role for m in quinn.members()] == [
        callseal.Role.ORGANIZER, callseal.Role.CO_ORGANIZER, callseal.Role.PARTICIPANT]
    assert quinn.members()[1].signature_key == pete_client.signature_key()

    # The co-organizer adds Rita; everyone accepts its commit and its Welcome.
    rita_client = callseal.MeetingClient("rita", "desktop-windows")
    added = pete.add(rita_client.key_package())
    pete.commit_accepted(2)
    olga.handle_commit(added.commit, 2)
    quinn.handle_commit(added.commit, 2)
    everyone.append(callseal.MeetingSession.join(rita_client, added.welcome, policy, 2))
    assert len({s.code() for s in everyone}) == 1
    assert [m.user for m in olga.members()] == ["olga", "pete", "quinn", "rita"]

    # A participant's add, and a co-organizer's roles change, are refused.
    with pytest.raises(callseal.CallsealError.ProtocolViolation) as refused:
        quinn.add(callseal.MeetingClient("sam", "ios").key_package())
    assert refused.value.code() == "protocol-violation"
    with pytest.raises(callseal.CallsealError.ProtocolViolation):
        pete.promote(quinn_index)
    with pytest.raises(callseal.CallsealError.ProtocolViolation):
        olga.hand_over(quinn_index)  # not a co-organizer
    with pytest.raises(callseal.CallsealError.InvalidArgument):
        olga.promote(99)

    # Quinn, a participant, updates its own leaf when due.
    assert not quinn.update_due(2)
    assert quinn.update_due(3_600_000)  # an hour: past the 15 minutes and any per-member spread
    index = next(m.index for m in quinn.members() if m.user == "quinn")
    leaf_before = olga.leaf_key(index)
    update = quinn.self_update()
    assert quinn.commit_accepted(3).self_update
    for session in everyone:
        if session is not quinn:
            [change] = session.handle_commit(update.commit, 3)
            assert change.self_update and change.committer == index
    assert olga.leaf_key(index) != leaf_before
    assert len({s.code() for s in everyone}) == 1
    assert quinn.missing_commits_from() is None

    # The organizer hands over to Pete.
    hand_over = olga.hand_over(pete_index)
    assert olga.commit_accepted(4).organizer_changed
    for session in everyone[1:]:
        assert session.handle_commit(hand_over.commit, 4)[0].organizer_changed
    assert pete.role() == callseal.Role.ORGANIZER and olga.role() == callseal.Role.CO_ORGANIZER
    assert quinn.decrypt(pete.encrypt("Opus", bytes([0x78, 1, 2])), 5).frame.payload == bytes([0x78, 1, 2])


def test_the_roster_shows_identity_statuses():
    policy = verified_policy(POLICY)
    olga_client = callseal.MeetingClient("olga", "desktop-mac")
    bob_laptop = callseal.MeetingClient("bob", "desktop-mac")
    store = callseal.MemberKeyStore()
    olga = callseal.MeetingSession.create(olga_client, policy, 4, 0)
    added = olga.add(bob_laptop.key_package())
    olga.commit_accepted(0)
    callseal.MeetingSession.join(bob_laptop, added.welcome, policy, 0)

    def status(roster, platform):
        [entry] = [e for e in roster if e.member.user == "bob" and e.member.platform == platform]
        return entry.status

    assert status(olga.roster(), "desktop-mac") == callseal.IdentityStatus.UNCHECKED
    roster = olga.check_identities(store)
    assert status(roster, "desktop-mac") == callseal.IdentityStatus.NEW
    assert [e.status for e in roster if e.member.user == "olga"] == [callseal.IdentityStatus.KNOWN_VERIFIED]
    # The users compare the meeting code the app shows.
    with pytest.raises(callseal.CallsealError.InvalidArgument):
        olga.mark_code_verified(store, "1234")
    olga.mark_code_verified(store, olga.code())
    assert status(olga.roster(), "desktop-mac") == callseal.IdentityStatus.KNOWN_VERIFIED

    # The app persists the store; the next meeting knows Bob's laptop.
    saved = callseal.MemberKeyStore.from_json(store.to_json())
    assert saved.to_json() == store.to_json()
    nxt = callseal.MeetingSession.create(olga_client, policy, 4, 10)
    nxt.add(bob_laptop.key_package())
    nxt.commit_accepted(10)
    assert status(nxt.check_identities(saved), "desktop-mac") == callseal.IdentityStatus.KNOWN_VERIFIED
    # A second device of Bob's (or one the server slipped in) is flagged.
    code_before = nxt.code()
    bob_phone = callseal.MeetingClient("bob", "android")
    nxt.add(bob_phone.key_package())
    nxt.commit_accepted(11)
    flagged = nxt.check_identities(saved)
    assert status(flagged, "android") == callseal.IdentityStatus.CHANGED
    assert status(flagged, "desktop-mac") == callseal.IdentityStatus.KNOWN_VERIFIED
    assert [e.member.signature_key for e in flagged if e.member.platform == "android"] == [bob_phone.signature_key()]
    assert saved.to_json() != store.to_json()
    # A code from before the commit is refused: the users compared another roster.
    with pytest.raises(callseal.CallsealError.InvalidArgument) as stale:
        nxt.mark_code_verified(saved, code_before)
    assert stale.value.code() == "invalid-argument"
    # Equal codes show everyone sees the same roster, not who holds the phone's
    # key: comparing them leaves it flagged.
    nxt.mark_code_verified(saved, nxt.code())
    assert status(nxt.roster(), "android") == callseal.IdentityStatus.CHANGED
    assert status(nxt.roster(), "desktop-mac") == callseal.IdentityStatus.KNOWN_VERIFIED
    # Bob confirms his phone out of band: that device becomes verified.
    [ghost] = [e.member.index for e in nxt.roster() if e.member.platform == "android"]
    with pytest.raises(callseal.CallsealError.InvalidArgument):
        nxt.verify_member(saved, 99)
    nxt.verify_member(saved, ghost)
    assert all(e.status == callseal.IdentityStatus.KNOWN_VERIFIED for e in nxt.roster())
    assert all(k["verified"] for k in json.loads(saved.to_json())["bob"])

    with pytest.raises(callseal.CallsealError.Storage):
        callseal.MemberKeyStore.from_json("[")
