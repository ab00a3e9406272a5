"""Policy decisions and feature gating through the Python bindings: the same
decisions the core makes for every target (docs/POLICY.md)."""

import json

import pytest

import callseal
from policy_signing import verified_policy

DOCUMENT = json.dumps({
    "version": 1,
    "policies": [{
        "Identity": "Global",
        "CallingEndtoEndEncryptionEnabledType": "DisabledUserOverride",
        "MeetingEndToEndEncryption": "DisabledUserOverride",
        "Description": "",
    }],
    "users": {
        "alice": {"e2ee_calls": True},
        "bob": {"e2ee_calls": True},
        "rec": {"e2ee_calls": True, "compliance_recording": True},
    },
})


def test_call_decisions_follow_the_policy_and_are_symmetric():
    policy = callseal.PolicyDocument.from_json(DOCUMENT)
    ok = policy.evaluate_call("alice", "bob")
    assert ok.e2ee and ok.reason == "ok"
    assert len(ok.unavailable_features) == 9
    assert ok.not_end_to_end_encrypted == ["chat", "reactions"]
    assert policy.evaluate_call("alice", "carol").reason == "user-setting-off"
    assert policy.evaluate_call("rec", "alice") == policy.evaluate_call("alice", "rec")
    assert callseal.PolicyDocument().evaluate_call("a", "b").reason == "policy-disabled"


def test_meetings_admit_and_refuse_with_reasons():
    policy = callseal.PolicyDocument.from_json(DOCUMENT)
    d = policy.evaluate_meeting("alice", True, [
        callseal.MeetingParticipant(user="alice", platform="android"),
        callseal.MeetingParticipant(user="carol", platform="surface-hub"),
    ])
    assert d.e2ee and d.admitted == ["alice"]
    assert [(r.user, r.reason) for r in d.refused] == [("carol", "unsupported-platform")]
    with pytest.raises(callseal.CallsealError.InvalidArgument):
        policy.evaluate_meeting("alice", True, [callseal.MeetingParticipant(user="x", platform="linux")])


def test_gated_features_raise_typed_errors():
    with pytest.raises(callseal.CallsealError.FeatureUnavailable) as caught:
        callseal.check_call_feature(True, "transcription")
    assert caught.value.code() == "feature-unavailable"
    callseal.check_call_feature(False, "transcription")
    callseal.check_meeting_feature(True, "q-and-a")
    with pytest.raises(callseal.CallsealError.FeatureUnavailable):
        callseal.check_meeting_feature(True, "together-mode")


def test_a_call_takes_its_mode_from_the_policy():
    policy = verified_policy(DOCUMENT)
    alice = callseal.IdentityKeyPair.generate()
    with pytest.raises(callseal.CallsealError.PolicyForbids):
        callseal.initiate_call_with_policy(policy, callseal.ExpectedPeer(uid="carol"), alice, "alice")
    start = callseal.initiate_call_with_policy(policy, callseal.ExpectedPeer(uid="bob"), alice, "alice")
    with pytest.raises(callseal.CallsealError.FeatureUnavailable):
        start.session.check_feature("call-park")
    with pytest.raises(callseal.CallsealError.Malformed):
        callseal.PolicyDocument.from_json("{")


def test_policy_decisions_replay_the_conformance_file():
    from conftest import load_cases
    cases = load_cases("policy.json")
    for c in cases:
        doc = callseal.PolicyDocument.from_json(c["document"])
        want = c["decision"]
        if c["kind"] == "call":
            d = doc.evaluate_call(c["caller"], c["callee"])
        else:
            d = doc.evaluate_meeting(c["organizer"], c["organizer_e2ee"], [
                callseal.MeetingParticipant(user=p["user"], platform=p["platform"]) for p in c["participants"]
            ])
            assert d.admitted == want["admitted"], c["name"]
            assert [{"user": r.user, "reason": r.reason} for r in d.refused] == want["refused"], c["name"]
        assert (d.e2ee, d.reason) == (want["e2ee"], want["reason"]), c["name"]
        assert d.unavailable_features == want["unavailable_features"], c["name"]
        assert d.not_end_to_end_encrypted == want["not_end_to_end_encrypted"], c["name"]
    assert len(cases) >= 10
