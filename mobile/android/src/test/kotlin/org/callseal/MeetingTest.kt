// Meetings through the Kotlin API: real MLS, codes, media, removal,
// refused handshake messages, co-organizers and self-updates, and the
// roster's identity statuses (PROTOCOL.md §4, §4.7–§4.9).
package org.callseal

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertNull
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
        val policy = verifiedPolicy(policyJson)
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
            assertEquals("replay", e.code())
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
            MeetingSession.create(MeetingClient("olga", "desktop-mac"), verifiedPolicy(PolicyDocument()), 4u, 0uL)
            fail("a meeting the policy forbids was created")
        } catch (e: CallsealException.PolicyForbids) {
            assertTrue(e.message!!.contains("policy-disabled"))
        }
        val organizer = MeetingSession.create(
            MeetingClient("olga", "desktop-mac"), verifiedPolicy(policyJson), 4u, 0uL,
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

    @Test
    fun coOrganizersAddMembersAndParticipantsCannot() {
        val policy = verifiedPolicy(policyJson)
        val olga = MeetingSession.create(MeetingClient("olga", "desktop-mac"), policy, 4u, 0uL)
        // One commit and one Welcome for two joiners; the policy refuses the third.
        val peteClient = MeetingClient("pete", "android")
        val quinnClient = MeetingClient("quinn", "ios")
        val batch = olga.changeMembership(
            listOf(peteClient.keyPackage(), quinnClient.keyPackage(), MeetingClient("walt", "web").keyPackage()),
            emptyList(),
        )
        assertEquals(listOf(Refusal("walt", "unsupported-platform")), batch.refused)
        olga.commitAccepted(0uL)
        val pete = MeetingSession.join(peteClient, batch.messages.welcome!!, policy, 0uL)
        val quinn = MeetingSession.join(quinnClient, batch.messages.welcome!!, policy, 0uL)
        val everyone = mutableListOf(olga, pete, quinn)
        // Roles go to one device: its leaf index, as members() shows it.
        val peteIndex = olga.members().single { it.user == "pete" }.index
        val quinnIndex = olga.members().single { it.user == "quinn" }.index

        // The organizer promotes Pete; every member sees the new roles.
        val promotion = olga.promote(peteIndex)
        assertTrue(olga.commitAccepted(1uL).rolesChanged)
        for (s in listOf(pete, quinn)) {
            val change = s.handleCommit(promotion.commit, 1uL).single()
            assertTrue(change.rolesChanged)
            assertEquals(0u, change.committer)
        }
        assertEquals(Role.CO_ORGANIZER, pete.role())
        assertEquals(Role.PARTICIPANT, quinn.role())
        assertEquals(0u, quinn.organizer())
        assertEquals(
            listOf(Role.ORGANIZER, Role.CO_ORGANIZER, Role.PARTICIPANT),
            quinn.members().map { it.role },
        )
        assertArrayEquals(peteClient.signatureKey(), quinn.members()[1].signatureKey)

        // The co-organizer adds Rita; everyone accepts its commit and its Welcome.
        val ritaClient = MeetingClient("rita", "desktop-windows")
        val added = pete.add(ritaClient.keyPackage())
        pete.commitAccepted(2uL)
        olga.handleCommit(added.commit, 2uL)
        quinn.handleCommit(added.commit, 2uL)
        everyone += MeetingSession.join(ritaClient, added.welcome!!, policy, 2uL)
        assertEquals(1, everyone.map { it.code() }.toSet().size)
        assertEquals(listOf("olga", "pete", "quinn", "rita"), olga.members().map { it.user })

        // A participant's add, and a co-organizer's roles change, are refused.
        try {
            quinn.add(MeetingClient("sam", "ios").keyPackage())
            fail("a participant added a member")
        } catch (e: CallsealException.ProtocolViolation) {
            assertEquals("protocol-violation", e.code())
        }
        try {
            pete.promote(quinnIndex)
            fail("a co-organizer changed the roles")
        } catch (e: CallsealException.ProtocolViolation) {
        }
        try {
            olga.handOver(quinnIndex)
            fail("the organizer handed over to a participant")
        } catch (e: CallsealException.ProtocolViolation) {
        }
        try {
            olga.promote(99u)
            fail("a leaf with no member was promoted")
        } catch (e: CallsealException.InvalidArgument) {
            assertEquals("invalid-argument", e.code())
        }

        // Quinn, a participant, updates its own leaf when due.
        assertFalse(quinn.updateDue(2uL))
        assertTrue(quinn.updateDue(3_600_000uL)) // an hour: past the 15 minutes and any per-member spread
        val index = quinn.members().single { it.user == "quinn" }.index
        val leafBefore = olga.leafKey(index)!!
        val update = quinn.selfUpdate()
        assertTrue(quinn.commitAccepted(3uL).selfUpdate)
        for (s in everyone.filter { it !== quinn }) {
            val change = s.handleCommit(update.commit, 3uL).single()
            assertTrue(change.selfUpdate)
            assertEquals(index, change.committer)
        }
        assertFalse(leafBefore.contentEquals(olga.leafKey(index)!!))
        assertEquals(1, everyone.map { it.code() }.toSet().size)
        assertNull(quinn.missingCommitsFrom())

        // The organizer hands over to Pete.
        val handOver = olga.handOver(peteIndex)
        assertTrue(olga.commitAccepted(4uL).organizerChanged)
        for (s in everyone.filter { it !== olga }) {
            assertTrue(s.handleCommit(handOver.commit, 4uL).single().organizerChanged)
        }
        assertEquals(Role.ORGANIZER, pete.role())
        assertEquals(Role.CO_ORGANIZER, olga.role())
        val frame = pete.encrypt("Opus", byteArrayOf(0x78, 1, 2))
        assertArrayEquals(byteArrayOf(0x78, 1, 2), quinn.decrypt(frame, 5uL).frame!!.payload)
    }

    @Test
    fun theRosterShowsIdentityStatuses() {
        val policy = verifiedPolicy(policyJson)
        val olgaClient = MeetingClient("olga", "desktop-mac")
        val bobLaptop = MeetingClient("bob", "desktop-mac")
        val store = MemberKeyStore()
        val olga = MeetingSession.create(olgaClient, policy, 4u, 0uL)
        val added = olga.add(bobLaptop.keyPackage())
        olga.commitAccepted(0uL)
        MeetingSession.join(bobLaptop, added.welcome!!, policy, 0uL)

        fun status(roster: List<RosterEntry>, platform: String) =
            roster.single { it.member.user == "bob" && it.member.platform == platform }.status

        assertEquals(IdentityStatus.UNCHECKED, status(olga.roster(), "desktop-mac"))
        val roster = olga.checkIdentities(store)
        assertEquals(IdentityStatus.NEW, status(roster, "desktop-mac"))
        assertEquals(IdentityStatus.KNOWN_VERIFIED, roster.single { it.member.user == "olga" }.status)
        // The users compare the meeting code the app shows.
        try {
            olga.markCodeVerified(store, "1234")
            fail("a malformed code was taken")
        } catch (e: CallsealException.InvalidArgument) {
        }
        olga.markCodeVerified(store, olga.code())
        assertEquals(IdentityStatus.KNOWN_VERIFIED, status(olga.roster(), "desktop-mac"))

        // The app persists the store; the next meeting knows Bob's laptop.
        val saved = MemberKeyStore.fromJson(store.toJson())
        assertEquals(store.toJson(), saved.toJson())
        val next = MeetingSession.create(olgaClient, policy, 4u, 10uL)
        next.add(bobLaptop.keyPackage())
        next.commitAccepted(10uL)
        assertEquals(IdentityStatus.KNOWN_VERIFIED, status(next.checkIdentities(saved), "desktop-mac"))
        // A second device of Bob's (or one the server slipped in) is flagged.
        val codeBefore = next.code()
        val bobPhone = MeetingClient("bob", "android")
        next.add(bobPhone.keyPackage())
        next.commitAccepted(11uL)
        val flagged = next.checkIdentities(saved)
        assertEquals(IdentityStatus.CHANGED, status(flagged, "android"))
        assertEquals(IdentityStatus.KNOWN_VERIFIED, status(flagged, "desktop-mac"))
        assertArrayEquals(
            bobPhone.signatureKey(),
            flagged.single { it.member.platform == "android" }.member.signatureKey,
        )
        assertNotEquals(store.toJson(), saved.toJson())
        // A code from before the commit is refused: the users compared another roster.
        try {
            next.markCodeVerified(saved, codeBefore)
            fail("a stale code was taken")
        } catch (e: CallsealException.InvalidArgument) {
            assertEquals("invalid-argument", e.code())
        }
        // Equal codes show everyone sees the same roster, not who holds the
        // phone's key: comparing them leaves it flagged.
        next.markCodeVerified(saved, next.code())
        assertEquals(IdentityStatus.CHANGED, status(next.roster(), "android"))
        assertEquals(IdentityStatus.KNOWN_VERIFIED, status(next.roster(), "desktop-mac"))
        // Bob confirms his phone out of band: that device becomes verified.
        val ghost = next.roster().single { it.member.platform == "android" }.member.index
        try {
            next.verifyMember(saved, 99u)
            fail("a leaf with no member was verified")
        } catch (e: CallsealException.InvalidArgument) {
        }
        next.verifyMember(saved, ghost)
        assertTrue(next.roster().all { it.status == IdentityStatus.KNOWN_VERIFIED })

        try {
            MemberKeyStore.fromJson("[")
            fail("garbage was taken for a store")
        } catch (e: CallsealException.Storage) {
            assertEquals("storage", e.code())
        }
    }
}
