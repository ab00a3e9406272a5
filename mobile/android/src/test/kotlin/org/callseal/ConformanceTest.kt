// Replays the committed conformance files (tests/conformance/) through the
// Kotlin API: every byte must match what the core wrote.
package org.callseal

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class ConformanceTest {
    @Test
    fun framesReplayByteForByte() {
        val cases = loadCases("frames.json")
        for (c in cases) {
            val name = c.str("name")
            FrameSender.startingAt(c.suite(), c.u64("kid"), c.bytes("base_key"), c.u64("counter")).use { sender ->
                val frame = sender.encrypt(c.bytes("metadata"), c.bytes("payload"))
                assertEquals(name, c.str("frame"), frame.hex())
            }
            FrameReceiver().use { receiver ->
                receiver.addKey(c.u64("kid"), c.suite(), c.bytes("base_key"))
                val payload = receiver.decrypt(c.bytes("metadata"), c.bytes("frame"))
                assertEquals(name, c.str("payload"), payload.hex())
            }
        }
        assertEquals(8, cases.map { it.suite() }.toSet().size)
    }

    @Test
    fun mediaReplayByteForByte() {
        val cases = loadCases("media.json")
        for (c in cases) {
            val name = c.str("name")
            MediaSender.startingAt(c.suite(), c.u64("kid"), c.bytes("base_key"), c.u64("counter")).use { sender ->
                val protected = sender.encryptFrame(c.str("codec"), c.bytes("frame"))
                assertEquals(name, c.str("protected"), protected.hex())
            }
            MediaReceiver().use { receiver ->
                receiver.addKey(c.u64("kid"), c.suite(), c.bytes("base_key"))
                val frame = receiver.decryptFrame(c.bytes("protected"))
                assertEquals(name, c.str("decrypted"), frame.payload.hex())
                assertEquals(name, c.str("codec"), frame.codec)
                assertEquals(name, c.u64("kid"), frame.kid)
                assertEquals(name, c.u64("counter"), frame.counter)
            }
        }
        assertEquals(7, cases.map { it.str("codec") }.toSet().size)
    }

    @Test
    fun errorsReplayWithTheSameKinds() {
        val cases = loadCases("errors.json")
        for (c in cases) {
            val name = c.str("name")
            val before = c.list("before").map { (it as String).unhex() }
            val outcome: String? = try {
                when (c.str("operation")) {
                    "frame-decrypt" -> FrameReceiver().use { r ->
                        r.addKey(c.u64("kid"), c.suite(), c.bytes("base_key"))
                        before.forEach { r.decrypt(c.bytes("metadata"), it) }
                        r.decrypt(c.bytes("metadata"), c.bytes("input"))
                    }
                    "media-decrypt" -> MediaReceiver().use { r ->
                        r.addKey(c.u64("kid"), c.suite(), c.bytes("base_key"))
                        before.forEach { r.decryptFrame(it) }
                        r.decryptFrame(c.bytes("input"))
                    }
                    else -> fail("$name: unknown operation")
                }
                null
            } catch (e: CallsealException) {
                e.code
            }
            assertEquals(name, c.str("error"), outcome)
        }
    }

    @Test
    fun callsReplayMessagesCodesAndFirstFrames() {
        val cases = loadCases("calls.json")
        for (c in cases) {
            val name = c.str("name")
            val i = c.obj("initiator")
            val r = c.obj("responder")
            val messages = c.list("messages").map { (it as String).unhex() }
            assertEquals(name, 4, messages.size)
            val iStore = IdentityStore.memory()
            val rStore = IdentityStore.memory()
            val iStart = CallSession.initiateScripted(
                IdentityKeyPair.fromBytes(i.bytes("identity_secret")), i.str("uid"), c.suite(), i.bytes("entropy"),
            )
            assertArrayEquals(name, messages[0], iStart.message)
            val rStart = CallSession.respondScripted(
                IdentityKeyPair.fromBytes(r.bytes("identity_secret")), r.str("uid"), iStart.message, r.bytes("entropy"),
            )
            assertArrayEquals(name, messages[1], rStart.message)
            val reveal = iStart.session.handle(rStart.message, iStore)
            assertArrayEquals(name, messages[2], reveal)
            val confirm = rStart.session.handle(reveal!!, rStore)
            assertArrayEquals(name, messages[3], confirm)
            assertNull(name, iStart.session.handle(confirm!!, iStore))

            val code = c.str("security_code")
            assertEquals(name, code, iStart.session.securityCode())
            assertEquals(name, code, rStart.session.securityCode())
            assertEquals(r.str("uid"), iStart.session.peerUid())
            assertEquals(i.str("uid"), rStart.session.peerUid())
            assertEquals(CallState.ENCRYPTED, iStart.session.state())

            val first = c.obj("first_frames")
            val payload = first.bytes("payload")
            val iMedia = iStart.session.takeMedia()
            val rMedia = rStart.session.takeMedia()
            val iToR = iMedia.sender.encryptFrame(first.str("codec"), payload)
            val rToI = rMedia.sender.encryptFrame(first.str("codec"), payload)
            assertEquals(name, first.str("initiator_to_responder"), iToR.hex())
            assertEquals(name, first.str("responder_to_initiator"), rToI.hex())
            assertArrayEquals(payload, rMedia.receiver.decryptFrame(iToR).payload)
            assertArrayEquals(payload, iMedia.receiver.decryptFrame(rToI).payload)
            listOf(iMedia.sender, iMedia.receiver, rMedia.sender, rMedia.receiver,
                iStart.session, rStart.session, iStore, rStore).forEach { it.close() }
        }
        assertTrue(cases.size >= 8)
    }
}
