// The examples of mobile/android/README.md, run: each README code block is
// the code between `// README: <name>` and `// END` below (indentation
// removed), and readmeShowsExactlyTheseExamples fails if a block and its
// code differ, so the README's examples cannot drift from what runs.
package org.callseal

import java.io.File
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

class ReadmeExamplesTest {
    private val opusFrame = byteArrayOf(0x78, 1, 2, 3)
    private val nowMs = 1_000uL

    @Test
    fun frames() {
        // README: frames
        // One sender per key and key id, ever; the receiver holds the keys it was given.
        val key = ByteArray(16) { 0x42 }                  // from your key service
        val sender = FrameSender(4u, 7uL, key)            // suite 4 (AES-128-GCM), key id 7
        val receiver = FrameReceiver()
        receiver.addKey(7uL, 4u, key)
        val frame = sender.encrypt("header".toByteArray(), "hello".toByteArray())
        val payload = receiver.decrypt("header".toByteArray(), frame)
        val again = try {
            receiver.decrypt("header".toByteArray(), frame)
        } catch (e: CallsealException.Replay) {
            null                                          // a replayed frame is dropped
        }
        // END
        assertEquals("hello", String(payload))
        assertNull(again)
        assertEquals(1uL, sender.nextCounter())
    }

    @Test
    fun calls() {
        // README: calls
        // Alice calls Bob. Each side's bytes go to the other over your
        // signalling; here they are handed over directly.
        val aliceStore = IdentityStore.memory()           // or IdentityStore.open(path)
        val bobStore = IdentityStore.memory()
        val call = CallSession.initiate(IdentityKeyPair.generate(), "alice", ExpectedPeer("bob"))
        val answer = CallSession.respond(IdentityKeyPair.generate(), "bob", call.message, ExpectedPeer("alice"))
        val alice = call.session
        val bob = answer.session
        val reveal = alice.handle(answer.message, aliceStore).reply!!
        val confirm = bob.handle(reveal, bobStore).reply!!
        alice.handle(confirm, aliceStore)
        // Both show the same code; once the users compared it: markVerified(store).
        val code = alice.securityCode()

        // Media: encrypt in the sender's encoded transform, decrypt in the receiver's.
        val aliceMedia = alice.takeMedia()
        val bobMedia = bob.takeMedia()
        val received = bobMedia.receiver.decryptFrame(aliceMedia.sender.encryptFrame("Opus", opusFrame))

        // A rekey (when rekeyDue(nowMs) says so): every message goes to handle(),
        // its media update is applied at once, its reply is sent.
        val offer = bob.handleAndApply(alice.rekey(), bobStore, bobMedia)
        val done = alice.handleAndApply(offer!!, aliceStore, aliceMedia)
        bob.handleAndApply(done!!, bobStore, bobMedia)
        // END
        assertNotNull(code)
        assertEquals(code, bob.securityCode())
        assertEquals(Indicator.LOCK_AND_SHIELD, alice.indicator())
        assertArrayEquals(opusFrame, received.payload)
        assertEquals(1u, alice.epoch())
        assertEquals(1u, bob.epoch())
        val after = aliceMedia.receiver.decryptFrame(bobMedia.sender.encryptFrame("Opus", opusFrame))
        assertArrayEquals(opusFrame, after.payload)
    }

    // README: handle
    /** Handles one signalling message: applies its media update, returns the reply to send. */
    fun CallSession.handleAndApply(message: ByteArray, store: IdentityStore, media: CallMedia): ByteArray? {
        val handled = handle(message, store)
        handled.media?.use { it.apply(media) }
        return handled.reply
    }
    // END

    @Test
    fun policy() {
        val identity = IdentityKeyPair.generate()
        // README: policy
        // The tenant admin signs each policy document (serials go up) with a key
        // kept off the clients: PolicySigningKey.generate(), stored with toBytes().
        val admin = PolicySigningKey.generate()
        val tenantKey = admin.tenantKey()                 // what every client is configured with
        val document = PolicyDocument.fromJson(
            """{"version": 1, "policies": [{"Identity": "Global",
                "CallingEndtoEndEncryptionEnabledType": "DisabledUserOverride",
                "MeetingEndToEndEncryption": "DisabledUserOverride", "Description": ""}],
                "users": {"alice": {"e2ee_calls": true}, "bob": {"e2ee_calls": true}}}""",
        )
        val signed = admin.sign(document, 7uL, 1_796_000_000uL)

        // The app verifies what it receives with the tenant key against the
        // newest serial it accepted, and keeps the new serial: an older
        // document is refused (CallsealException.Replay), and so is one
        // another key signed (WrongPeer) or anyone changed (AuthenticationFailed).
        var lastSeenSerial = 0uL                          // persisted by the app
        val policy = VerifiedPolicy.verify(signed, tenantKey, lastSeenSerial)
        lastSeenSerial = policy.serial()

        // Calls and meetings take the verified policy only.
        val start = when (val mode = callMode(policy.evaluateCall("alice", "bob"), false)) {
            is CallMode.EndToEnd -> initiateCallWithPolicy(policy, ExpectedPeer("bob"), identity, "alice")
            is CallMode.NotEndToEnd -> null               // a plain call: show mode.reason
        }
        // END
        assertEquals(7uL, lastSeenSerial)
        assertNotNull(start)
        try {
            VerifiedPolicy.verify(admin.sign(document, 6uL, 1_796_000_000uL), tenantKey, lastSeenSerial)
            throw AssertionError("a rolled-back document was accepted")
        } catch (e: CallsealException.Replay) {
        }
    }

    @Test
    fun meetings() {
        val policy = verifiedPolicy(
            """{"version": 1, "policies": [{"Identity": "Global",
                "CallingEndtoEndEncryptionEnabledType": "Disabled",
                "MeetingEndToEndEncryption": "DisabledUserOverride", "Description": ""}]}""",
        )
        // README: meetings
        // Olga organizes, Pete joins; commits and Welcomes go through your server,
        // which orders the commits.
        val olgaClient = MeetingClient("olga", "desktop-mac")
        val peteClient = MeetingClient("pete", "ios")
        val olga = MeetingSession.create(olgaClient, policy, 4u, nowMs)
        val added = olga.add(peteClient.keyPackage())     // send added.commit; the server accepts it:
        olga.commitAccepted(nowMs)
        val pete = MeetingSession.join(peteClient, added.welcome!!, policy, nowMs)
        // Everyone shows the same meeting code; media is encrypted for the epoch.
        val frame = olga.encrypt("Opus", opusFrame)
        val received = pete.decrypt(frame, nowMs).frame   // null while held for a later epoch
        // END
        assertEquals(olga.code(), pete.code())
        assertArrayEquals(opusFrame, received!!.payload)
        assertEquals(listOf("olga", "pete"), olga.members().map { it.user })
    }

    /** The code between `// README: <name>` and `// END` in this file, in order, without indentation. */
    private fun examples(): List<String> {
        val lines = File(repoRoot(), "mobile/android/src/test/kotlin/org/callseal/ReadmeExamplesTest.kt").readLines()
        val out = mutableListOf<String>()
        var i = 0
        while (i < lines.size) {
            if (lines[i].trim().startsWith("// README: ")) {
                val end = (i + 1 until lines.size).first { lines[it].trim() == "// END" }
                val body = lines.subList(i + 1, end)
                val indent = body.filter { it.isNotBlank() }.minOf { it.length - it.trimStart().length }
                out += body.joinToString("\n", postfix = "\n") { if (it.isBlank()) "" else it.substring(indent) }
                i = end
            }
            i++
        }
        return out
    }

    private fun repoRoot(): File = conformanceDir().absoluteFile.parentFile.parentFile

    /** Every ```kotlin block of the README, in order. */
    private fun readmeBlocks(): List<String> =
        Regex("```kotlin\n(.*?)```", RegexOption.DOT_MATCHES_ALL)
            .findAll(File(repoRoot(), "mobile/android/README.md").readText())
            .map { it.groupValues[1] }
            .toList()

    @Test
    fun readmeShowsExactlyTheseExamples() {
        val examples = examples()
        assertEquals(5, examples.size)
        assertTrue(examples.all { it.lines().size > 3 })
        assertEquals(examples, readmeBlocks())
    }
}
