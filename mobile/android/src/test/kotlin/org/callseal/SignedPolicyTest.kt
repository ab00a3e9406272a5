// Signed policy documents and downgrades through the Kotlin API
// (docs/POLICY.md, "Signed policy documents" and "Downgrades"): the admin
// signs, the app verifies with the tenant key and keeps the serial, and a
// call without end-to-end encryption is taken only when the decision says
// so. The replay of tests/conformance/policy-signed.json runs against the
// shipping library: verifying is part of it.
package org.callseal

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class SignedPolicyTest {
    /** Global allows E2EE calls; alice and bob turned them on. */
    private val document = """
        {"version": 1,
         "policies": [{"Identity": "Global",
                       "CallingEndtoEndEncryptionEnabledType": "DisabledUserOverride",
                       "MeetingEndToEndEncryption": "DisabledUserOverride",
                       "Description": ""}],
         "users": {"alice": {"e2ee_calls": true}, "bob": {"e2ee_calls": true}}}
    """.trimIndent()

    private val admin = PolicySigningKey.fromBytes(ByteArray(32) { 7 })

    /** The error's code (the one place this file reads it). */
    private fun codeOf(e: CallsealException): String = e.code()

    /** The code [block] fails with, or null if it succeeds. */
    private fun failure(block: () -> Unit): String? =
        try {
            block()
            null
        } catch (e: CallsealException) {
            codeOf(e)
        }

    private fun sign(serial: ULong, json: String = document): ByteArray =
        PolicyDocument.fromJson(json).use { admin.sign(it, serial, 1_796_000_000uL) }

    @Test
    fun aSignedDocumentVerifiesWithTheTenantKey() {
        val tenantKey = admin.tenantKey()
        assertEquals(32, tenantKey.size)
        VerifiedPolicy.verify(sign(4uL), tenantKey, 0uL).use { verified ->
            assertEquals(4uL, verified.serial())
            assertEquals(1_796_000_000uL, verified.issuedAt())
            PolicyDocument.fromJson(document).use { original ->
                verified.document().use { assertEquals(original.toJson(), it.toJson()) }
                assertEquals(original.evaluateCall("alice", "bob"), verified.evaluateCall("alice", "bob"))
            }
            assertTrue(verified.evaluateCall("alice", "bob").e2ee)
            assertEquals("user-setting-off", verified.evaluateCall("alice", "carol").reason)
            val meeting = verified.evaluateMeeting("alice", true, listOf(MeetingParticipant("bob", "web")))
            assertEquals(listOf(Refusal("bob", "unsupported-platform")), meeting.refused)
        }
        // The same serial again is the document already held, not a rollback.
        VerifiedPolicy.verify(sign(4uL), tenantKey, 4uL).use { assertEquals(4uL, it.serial()) }
        // The seed gives the key back; a seed of another length is refused.
        PolicySigningKey.fromBytes(admin.toBytes()).use { assertArrayEquals(tenantKey, it.tenantKey()) }
        PolicySigningKey.generate().use { assertFalse(it.tenantKey().contentEquals(tenantKey)) }
        assertEquals("invalid-argument", failure { PolicySigningKey.fromBytes(ByteArray(31)) })
        assertEquals("invalid-argument", failure { VerifiedPolicy.verify(sign(1uL), ByteArray(31), 0uL) })
        assertEquals("invalid-argument", failure { sign(0uL) })
    }

    @Test
    fun aChangedByteIsAuthenticationFailed() {
        val signed = String(sign(2uL))
        val at = signed.indexOf("\"signature\": \"") + "\"signature\": \"".length
        val digit = if (signed[at] == '0') '1' else '0'
        val tampered = signed.substring(0, at) + digit + signed.substring(at + 1)
        assertNotEquals(signed, tampered)
        try {
            VerifiedPolicy.verify(tampered.toByteArray(), admin.tenantKey(), 0uL)
            fail("a tampered document was accepted")
        } catch (e: CallsealException.AuthenticationFailed) {
            assertEquals("authentication-failed", codeOf(e))
        }
    }

    @Test
    fun anotherTenantsKeyIsWrongPeer() {
        PolicySigningKey.fromBytes(ByteArray(32) { 8 }).use { other ->
            try {
                VerifiedPolicy.verify(sign(2uL), other.tenantKey(), 0uL)
                fail("another tenant's document was accepted")
            } catch (e: CallsealException.WrongPeer) {
                assertEquals("wrong-peer", codeOf(e))
            }
        }
    }

    @Test
    fun anOlderSerialIsReplay() {
        try {
            VerifiedPolicy.verify(sign(3uL), admin.tenantKey(), 4uL)
            fail("a rolled-back document was accepted")
        } catch (e: CallsealException.Replay) {
            assertEquals("replay", codeOf(e))
        }
    }

    @Test
    fun aDuplicateMemberIsMalformed() {
        val signed = String(sign(2uL))
        val format = "\n  \"format\": \"callseal-signed-policy/1\","
        assertTrue(signed.contains(format))
        val doubled = signed.replaceFirst(format, format + format)
        try {
            VerifiedPolicy.verify(doubled.toByteArray(), admin.tenantKey(), 0uL)
            fail("a document with a member twice was accepted")
        } catch (e: CallsealException.Malformed) {
            assertEquals("malformed", codeOf(e))
        }
        // In the document itself too: fromJson refuses it before it is signed.
        assertEquals("malformed", failure { PolicyDocument.fromJson("""{"version": 1, "version": 1}""") })
    }

    @Test
    fun requiredEndToEndEncryptionRefusesAPlainCall() {
        PolicyDocument().use { plain ->
            val decision = plain.evaluateCall("alice", "bob")
            assertEquals(CallMode.NotEndToEnd("policy-disabled"), callMode(decision, false))
            try {
                callMode(decision, true)
                fail("a plain call went ahead although the app requires E2EE")
            } catch (e: CallsealException.PolicyForbids) {
                assertEquals("policy-forbids", codeOf(e))
                assertTrue(e.message!!.contains("policy-disabled"))
            }
            assertEquals("policy-disabled", acceptPlainCall(decision, false))
            assertEquals("policy-forbids", failure { acceptPlainCall(decision, true) })
        }
        verifiedPolicy(document).use { assertEquals(CallMode.EndToEnd, callMode(it.evaluateCall("alice", "bob"), true)) }
    }

    @Test
    fun aPlainCallUnderAnEndToEndDecisionIsADowngrade() {
        verifiedPolicy(document).use { policy ->
            val decision = policy.evaluateCall("bob", "alice")
            assertTrue(decision.e2ee)
            try {
                acceptPlainCall(decision, false)
                fail("a downgraded call was accepted")
            } catch (e: CallsealException.ProtocolViolation) {
                assertEquals("protocol-violation", codeOf(e))
            }
            // A decision record the core never makes is refused, not guessed at.
            assertEquals("invalid-argument", failure { callMode(decision.copy(reason = "maybe"), false) })
            assertEquals("invalid-argument", failure { acceptPlainCall(decision.copy(e2ee = false), false) })
        }
    }

    @Test
    fun signedPoliciesReplayTheConformanceFile() {
        val cases = loadCases("policy-signed.json")
        val codes = mutableSetOf<String>()
        for (c in cases) {
            val name = c.str("name")
            val signed = c.str("signed").toByteArray(Charsets.UTF_8)
            val lastSeen = c.long("last_seen_serial").toULong()
            val verified = try {
                VerifiedPolicy.verify(signed, c.str("tenant_key").unhex(), lastSeen)
            } catch (e: CallsealException) {
                assertEquals(name, c["error"], codeOf(e))
                codes += codeOf(e)
                continue
            }
            verified.use {
                assertFalse("$name: accepted, expected ${c["error"]}", c.containsKey("error"))
                val want = c.obj("accepted")
                assertEquals(name, want.long("serial").toULong(), it.serial())
                assertEquals(name, want.long("issued_at").toULong(), it.issuedAt())
                it.document().use { doc -> assertEquals(name, want.str("document"), doc.toJson()) }
                val decision = it.evaluateCall("alice", "bob")
                assertEquals(name, want.bool("call_e2ee"), decision.e2ee)
                assertEquals(name, want.str("call_reason"), decision.reason)
                codes += "accepted"
            }
        }
        assertEquals(setOf("accepted", "replay", "wrong-peer", "authentication-failed", "malformed"), codes)
    }
}
