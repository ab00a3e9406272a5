// Meetings through the Kotlin API: real MLS, codes, media, removal, and
// refused handshake messages (PROTOCOL.md §4).
package org.callseal

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class MeetingTest {
    private val policyJson = """
        {"version": 1, "policies": [{"Identity": "Global",
          "CallingEndtoEndEncryptionEnabledType": "Disabled",
          "MeetingEndToEndEncryption": "DisabledUserOverride", "Description": ""}]}
    """.trimIndent()

    @Test
    fun membersShareCodesAndMediaAndARemovedMemberIsLockedOut() {
        val policy = PolicyDocument.fromJson(policyJson)
        val organizer = MeetingSession.create(MeetingClient("olga", "desktop-mac"), policy, 4u, 0uL)
        val members = listOf("pete" to "android", "quinn" to "ios").map { (user, platform) ->
            val client = MeetingClient(user, platform)
            val added = organizer.add(client.keyPackage())
            organizer.commitAccepted(0uL)
            val joined = MeetingSession.join(client, added.welcome!!, policy, 0uL)
            added.commit to joined
        }
        val pete = members[0].second
        val quinn = members[1].second
        // Pete applies the commit that added Quinn; a second copy is a replay.
        pete.handleCommit(members[1].first, 0uL)
        try {
            pete.handleCommit(members[1].first, 0uL)
            fail("a duplicate commit was applied")
        } catch (e: CallsealException.Replay) {
            assertEquals("replay", e.code)
        }
        assertEquals(organizer.code(), pete.code())
        assertEquals(organizer.code(), quinn.code())
        assertEquals(listOf("olga", "pete", "quinn"), organizer.members().map { it.user })

        val frame = organizer.encrypt("Opus", byteArrayOf(0x78, 1, 2))
        val got = quinn.decrypt(frame, 1uL)
        assertFalse(got.held)
        assertArrayEquals(byteArrayOf(0x78, 1, 2), got.frame!!.payload)

        val removal = organizer.remove("pete")
        val change = organizer.commitAccepted(2uL)
        quinn.handleCommit(removal.commit, 2uL)
        assertTrue(pete.handleCommit(removal.commit, 2uL).single().removedSelf)
        assertTrue(pete.isRemoved())
        assertEquals(change.code, quinn.code())
        val secret = organizer.encrypt("generic", "after removal".toByteArray())
        try {
            pete.decrypt(secret, 3uL)
            fail("a removed member decrypted a later epoch")
        } catch (e: CallsealException) {
        }
        assertEquals("after removal", String(quinn.decrypt(secret, 3uL).frame!!.payload))
    }

    @Test
    fun policyRefusalsAreTypedExceptions() {
        try {
            MeetingSession.create(MeetingClient("olga", "desktop-mac"), PolicyDocument(), 4u, 0uL)
            fail("a meeting the policy forbids was created")
        } catch (e: CallsealException.PolicyForbids) {
            assertTrue(e.message!!.contains("policy-disabled"))
        }
        val organizer = MeetingSession.create(
            MeetingClient("olga", "desktop-mac"), PolicyDocument.fromJson(policyJson), 4u, 0uL,
        )
        try {
            organizer.add(MeetingClient("walt", "web").keyPackage())
            fail("a web participant was admitted")
        } catch (e: CallsealException.PolicyForbids) {
            assertTrue(e.message!!.contains("unsupported-platform"))
        }
        try {
            checkMeetingFeature(true, "recording")
            fail("recording ran in an E2EE meeting")
        } catch (e: CallsealException.FeatureUnavailable) {
        }
        try {
            organizer.handleCommit(byteArrayOf(1, 2, 3), 0uL)
            fail("garbage was taken for a commit")
        } catch (e: CallsealException.Malformed) {
        }
    }
}
