// Policy decisions and feature gating through the Kotlin API: the same
// decisions the core makes for every target (docs/POLICY.md).
package org.callseal

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class PolicyTest {
    /** Global allows E2EE calls and meetings; alice and bob turned calls on; rec is recorded. */
    private val document = """
        {"version": 1,
         "policies": [{"Identity": "Global",
                       "CallingEndtoEndEncryptionEnabledType": "DisabledUserOverride",
                       "MeetingEndToEndEncryption": "DisabledUserOverride",
                       "Description": ""}],
         "users": {"alice": {"e2ee_calls": true}, "bob": {"e2ee_calls": true},
                   "rec": {"e2ee_calls": true, "compliance_recording": true}}}
    """.trimIndent()

    @Test
    fun callDecisionsFollowThePolicyAndAreSymmetric() {
        PolicyDocument.fromJson(document).use { policy ->
            val ok = policy.evaluateCall("alice", "bob")
            assertTrue(ok.e2ee)
            assertEquals("ok", ok.reason)
            assertEquals(9, ok.unavailableFeatures.size)
            assertEquals(listOf("chat", "reactions"), ok.notEndToEndEncrypted)
            assertEquals("user-setting-off", policy.evaluateCall("alice", "carol").reason)
            assertEquals("compliance-recording", policy.evaluateCall("rec", "alice").reason)
            assertEquals(policy.evaluateCall("rec", "alice"), policy.evaluateCall("alice", "rec"))
        }
        PolicyDocument().use { assertEquals("policy-disabled", it.evaluateCall("alice", "bob").reason) }
    }

    @Test
    fun meetingsAdmitAndRefuseWithReasons() {
        PolicyDocument.fromJson(document).use { policy ->
            val d = policy.evaluateMeeting(
                "alice", true,
                listOf(
                    MeetingParticipant("alice", "desktop-mac"),
                    MeetingParticipant("carol", "web"),
                    MeetingParticipant("rec", "ios"),
                ),
            )
            assertTrue(d.e2ee)
            assertEquals(listOf("alice"), d.admitted)
            assertEquals(listOf(Refusal("carol", "unsupported-platform"), Refusal("rec", "compliance-recording")), d.refused)
            assertEquals("organizer-setting-off", policy.evaluateMeeting("alice", false, listOf()).reason)
            try {
                policy.evaluateMeeting("alice", true, listOf(MeetingParticipant("x", "linux")))
                fail("an unknown platform was accepted")
            } catch (e: CallsealException.InvalidArgument) {
                assertEquals("invalid-argument", e.code())
            }
        }
    }

    @Test
    fun gatedFeaturesAreTypedExceptions() {
        try {
            checkCallFeature(true, "recording")
            fail("recording ran during an E2EE call")
        } catch (e: CallsealException.FeatureUnavailable) {
            assertEquals("feature-unavailable", e.code())
        }
        checkCallFeature(false, "recording")
        checkCallFeature(true, "chat")
        try {
            checkMeetingFeature(true, "breakout-rooms")
            fail("breakout rooms ran during an E2EE meeting")
        } catch (e: CallsealException.FeatureUnavailable) {
        }
        try {
            checkCallFeature(true, "teleport")
            fail("an unknown feature was accepted")
        } catch (e: CallsealException.InvalidArgument) {
        }
    }

    @Test
    fun aCallTakesItsModeFromThePolicy() {
        verifiedPolicy(document).use { policy ->
            IdentityKeyPair.generate().use { alice ->
                try {
                    initiateCallWithPolicy(policy, ExpectedPeer("carol"), alice, "alice")
                    fail("a call the policy forbids was started")
                } catch (e: CallsealException.PolicyForbids) {
                    assertTrue(e.message!!.contains("user-setting-off"))
                }
                val start = initiateCallWithPolicy(policy, ExpectedPeer("bob"), alice, "alice")
                start.session.use { session ->
                    try {
                        session.checkFeature("call-transfer")
                        fail("call transfer ran during an E2EE call")
                    } catch (e: CallsealException.FeatureUnavailable) {
                    }
                    session.checkFeature("reactions")
                    assertFalse(start.message.isEmpty())
                }
                IdentityKeyPair.generate().use { bob ->
                    respondToCallWithPolicy(policy, "alice", bob, "bob", start.message, ExpectedPeer("alice"))
                        .session.close()
                    try {
                        respondToCallWithPolicy(policy, "rec", bob, "bob", start.message)
                        fail("a call the policy forbids was answered")
                    } catch (e: CallsealException.PolicyForbids) {
                        assertEquals("policy-forbids", e.code())
                    }
                    // The decision is about alice: the expected caller is alice.
                    try {
                        respondToCallWithPolicy(policy, "alice", bob, "bob", start.message, ExpectedPeer("carol"))
                        fail("an expected caller other than the policy's was taken")
                    } catch (e: CallsealException.InvalidArgument) {
                    }
                }
            }
        }
    }

    @Test
    fun policyDecisionsReplayTheConformanceFile() {
        val cases = loadCases("policy.json")
        for (c in cases) {
            val name = c.str("name")
            val want = c.obj("decision")
            PolicyDocument.fromJson(c.str("document")).use { doc ->
                if (c.str("kind") == "call") {
                    val d = doc.evaluateCall(c.str("caller"), c.str("callee"))
                    assertEquals(name, want["e2ee"], d.e2ee)
                    assertEquals(name, want["reason"], d.reason)
                    assertEquals(name, want["unavailable_features"], d.unavailableFeatures)
                    assertEquals(name, want["not_end_to_end_encrypted"], d.notEndToEndEncrypted)
                } else {
                    val participants = c.list("participants").map {
                        @Suppress("UNCHECKED_CAST")
                        val p = it as Map<String, Any?>
                        MeetingParticipant(p.str("user"), p.str("platform"))
                    }
                    val d = doc.evaluateMeeting(c.str("organizer"), c["organizer_e2ee"] as Boolean, participants)
                    assertEquals(name, want["e2ee"], d.e2ee)
                    assertEquals(name, want["reason"], d.reason)
                    assertEquals(name, want["admitted"], d.admitted)
                    val refused = d.refused.map { mapOf("user" to it.user, "reason" to it.reason) }
                    assertEquals(name, want["refused"], refused)
                    assertEquals(name, want["unavailable_features"], d.unavailableFeatures)
                    assertEquals(name, want["not_end_to_end_encrypted"], d.notEndToEndEncrypted)
                }
            }
        }
        assertTrue(cases.size >= 10)
    }
}
