"""Signed policy documents and downgrades through the Python bindings
(docs/POLICY.md, "Signed policy documents" and "Downgrades"): the admin
signs, the app verifies with the tenant key and keeps the serial, and a call
without end-to-end encryption is taken only when the decision says so. The
replay of tests/conformance/policy-signed.json runs against the shipping
library: verifying is part of it."""

import json

import pytest

import callseal
from conftest import load_cases, unhex

DOCUMENT = json.dumps({
    "version": 1,
    "policies": [{
        "Identity": "Global",
        "CallingEndtoEndEncryptionEnabledType": "DisabledUserOverride",
        "MeetingEndToEndEncryption": "DisabledUserOverride",
        "Description": "",
    }],
    "users": {"alice": {"e2ee_calls": True}, "bob": {"e2ee_calls": True}},
})

ADMIN = callseal.PolicySigningKey.from_bytes(bytes([7] * 32))


def code(error: callseal.CallsealError) -> str:
    """The error's code (the one place this file reads it)."""
    return error.code()


def sign(serial: int, document: str = DOCUMENT) -> bytes:
    return ADMIN.sign(callseal.PolicyDocument.from_json(document), serial, 1_796_000_000)


def test_a_signed_document_verifies_with_the_tenant_key():
    tenant_key = ADMIN.tenant_key()
    assert len(tenant_key) == 32
    verified = callseal.VerifiedPolicy.verify(sign(4), tenant_key, 0)
    assert (verified.serial(), verified.issued_at()) == (4, 1_796_000_000)
    original = callseal.PolicyDocument.from_json(DOCUMENT)
    assert verified.document().to_json() == original.to_json()
    assert verified.evaluate_call("alice", "bob") == original.evaluate_call("alice", "bob")
    assert verified.evaluate_call("alice", "bob").e2ee
    assert verified.evaluate_call("alice", "carol").reason == "user-setting-off"
    meeting = verified.evaluate_meeting("alice", True, [callseal.MeetingParticipant(user="bob", platform="web")])
    assert [(r.user, r.reason) for r in meeting.refused] == [("bob", "unsupported-platform")]
    # The same serial again is the document already held, not a rollback.
    assert callseal.VerifiedPolicy.verify(sign(4), tenant_key, 4).serial() == 4
    # The seed gives the key back; bad lengths and a serial of 0 are refused.
    assert callseal.PolicySigningKey.from_bytes(ADMIN.to_bytes()).tenant_key() == tenant_key
    assert callseal.PolicySigningKey.generate().tenant_key() != tenant_key
    for bad in (lambda: callseal.PolicySigningKey.from_bytes(bytes(31)),
                lambda: callseal.VerifiedPolicy.verify(sign(1), bytes(31), 0),
                lambda: sign(0)):
        with pytest.raises(callseal.CallsealError.InvalidArgument) as caught:
            bad()
        assert code(caught.value) == "invalid-argument"


def test_a_changed_byte_is_authentication_failed():
    signed = sign(2).decode()
    at = signed.index('"signature": "') + len('"signature": "')
    tampered = signed[:at] + ("1" if signed[at] == "0" else "0") + signed[at + 1:]
    assert tampered != signed
    with pytest.raises(callseal.CallsealError.AuthenticationFailed) as caught:
        callseal.VerifiedPolicy.verify(tampered.encode(), ADMIN.tenant_key(), 0)
    assert code(caught.value) == "authentication-failed"


def test_another_tenants_key_is_wrong_peer():
    other = callseal.PolicySigningKey.from_bytes(bytes([8] * 32))
    with pytest.raises(callseal.CallsealError.WrongPeer) as caught:
        callseal.VerifiedPolicy.verify(sign(2), other.tenant_key(), 0)
    assert code(caught.value) == "wrong-peer"


def test_an_older_serial_is_replay():
    with pytest.raises(callseal.CallsealError.Replay) as caught:
        callseal.VerifiedPolicy.verify(sign(3), ADMIN.tenant_key(), 4)
    assert code(caught.value) == "replay"


def test_a_duplicate_member_is_malformed():
    signed = sign(2).decode()
    member = '\n  "format": "callseal-signed-policy/1",'
    assert member in signed
    with pytest.raises(callseal.CallsealError.Malformed) as caught:
        callseal.VerifiedPolicy.verify(signed.replace(member, member * 2, 1).encode(), ADMIN.tenant_key(), 0)
    assert code(caught.value) == "malformed"
    with pytest.raises(callseal.CallsealError.Malformed):
        callseal.PolicyDocument.from_json('{"version": 1, "version": 1}')


def test_required_end_to_end_encryption_refuses_a_plain_call():
    decision = callseal.PolicyDocument().evaluate_call("alice", "bob")
    assert callseal.call_mode(decision, False) == callseal.CallMode.NOT_END_TO_END(reason="policy-disabled")
    with pytest.raises(callseal.CallsealError.PolicyForbids) as caught:
        callseal.call_mode(decision, True)
    assert code(caught.value) == "policy-forbids"
    assert "policy-disabled" in str(caught.value)
    assert callseal.accept_plain_call(decision, False) == "policy-disabled"
    with pytest.raises(callseal.CallsealError.PolicyForbids):
        callseal.accept_plain_call(decision, True)
    e2ee = callseal.VerifiedPolicy.verify(sign(1), ADMIN.tenant_key(), 0).evaluate_call("alice", "bob")
    assert callseal.call_mode(e2ee, True) == callseal.CallMode.END_TO_END()


def test_a_plain_call_under_an_end_to_end_decision_is_a_downgrade():
    decision = callseal.VerifiedPolicy.verify(sign(1), ADMIN.tenant_key(), 0).evaluate_call("bob", "alice")
    assert decision.e2ee
    with pytest.raises(callseal.CallsealError.ProtocolViolation) as caught:
        callseal.accept_plain_call(decision, False)
    assert code(caught.value) == "protocol-violation"
    # A decision record the core never makes is refused, not guessed at.
    decision.reason = "maybe"
    with pytest.raises(callseal.CallsealError.InvalidArgument):
        callseal.call_mode(decision, False)
    decision.reason, decision.e2ee = "ok", False
    with pytest.raises(callseal.CallsealError.InvalidArgument):
        callseal.accept_plain_call(decision, False)


def test_signed_policies_replay_the_conformance_file():
    cases = load_cases("policy-signed.json")
    outcomes = set()
    for c in cases:
        name = c["name"]
        try:
            verified = callseal.VerifiedPolicy.verify(
                c["signed"].encode("utf-8"), unhex(c["tenant_key"]), c["last_seen_serial"])
        except callseal.CallsealError as e:
            assert code(e) == c.get("error"), name
            outcomes.add(code(e))
            continue
        assert "error" not in c, f"{name}: accepted, expected {c.get('error')}"
        want = c["accepted"]
        assert (verified.serial(), verified.issued_at()) == (want["serial"], want["issued_at"]), name
        assert verified.document().to_json() == want["document"], name
        decision = verified.evaluate_call("alice", "bob")
        assert (decision.e2ee, decision.reason) == (want["call_e2ee"], want["call_reason"]), name
        outcomes.add("accepted")
    assert outcomes == {"accepted", "replay", "wrong-peer", "authentication-failed", "malformed"}
