// Replays the committed conformance files (tests/conformance/) through the
// Kotlin API: every byte must match what the core wrote. These tests need
// the conformance build of the library (Cargo feature `conformance`: the
// fixed-randomness functions and errorCodes), so they live apart from
// src/test/kotlin, which compiles against the shipping API;
// scripts/test-mobile compiles both against the conformance bindings.
package org.callseal

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
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
                e.code()
            }
            assertEquals(name, c.str("error"), outcome)
        }
    }

    /**
     * calls.json version 2: the handshake, the security code, the first
     * frames, then an in-call rekey (offer, answer, done) and the first
     * frames of epoch 1, byte for byte. Needs the conformance build
     * (initiateCallScripted, respondToCallScripted, rekeyScripted,
     * handleScripted).
     */
    @Test
    fun callsReplayHandshakeRekeyAndFrames() {
        val cases = loadCases("calls.json", version = 2L)
        for (c in cases) {
            val name = c.str("name")
            val i = c.obj("initiator")
            val r = c.obj("responder")
            val messages = c.list("messages").map { (it as String).unhex() }
            assertEquals(name, 4, messages.size)
            val config = CallConfig(suite = c.suite(), allowShortTags = c.bool("allow_short_tags"))
            val iStore = IdentityStore.memory()
            val rStore = IdentityStore.memory()
            val iIdentity = IdentityKeyPair.fromBytes(i.bytes("identity_secret"))
            val rIdentity = IdentityKeyPair.fromBytes(r.bytes("identity_secret"))
            // Each side draws exactly its entropy: one byte less fails.
            val iEntropy = i.bytes("entropy")
            try {
                initiateCallScripted(iIdentity, i.str("uid"), ExpectedPeer(r.str("uid")), config, iEntropy.copyOf(iEntropy.size - 1))
                fail("$name: the initiator drew less than its entropy")
            } catch (e: CallsealException.Entropy) {
            }
            val iStart = initiateCallScripted(iIdentity, i.str("uid"), ExpectedPeer(r.str("uid")), config, iEntropy)
            assertArrayEquals(name, messages[0], iStart.message)
            val rStart = respondToCallScripted(rIdentity, r.str("uid"), iStart.message, null, config, r.bytes("entropy"))
            assertArrayEquals(name, messages[1], rStart.message)
            val (ini, res) = iStart.session to rStart.session
            val reveal = ini.handle(rStart.message, iStore)
            assertArrayEquals(name, messages[2], reveal.reply)
            val confirm = res.handle(reveal.reply!!, rStore)
            assertArrayEquals(name, messages[3], confirm.reply)
            val last = ini.handle(confirm.reply!!, iStore)
            for (h in listOf(reveal, confirm, last)) {
                assertNull(name, h.media)
                assertNull(name, h.ignored)
            }
            assertNull(name, last.reply)

            val code = c.str("security_code")
            assertEquals(name, code, ini.securityCode())
            assertEquals(name, code, res.securityCode())
            assertEquals(r.str("uid"), ini.peerUid())
            assertEquals(i.str("uid"), res.peerUid())
            assertEquals(CallState.ENCRYPTED, ini.state())
            assertEquals(0u, ini.epoch())

            val iMedia = ini.takeMedia()
            val rMedia = res.takeMedia()
            checkFrames(name, c.obj("first_frames"), iMedia, rMedia)

            val rekey = c.obj("rekey")
            val rekeyMessages = rekey.list("messages").map { (it as String).unhex() }
            assertEquals(name, 3, rekeyMessages.size)
            val initiatorOffers = when (rekey.str("offerer")) {
                "initiator" -> true
                "responder" -> false
                else -> error("$name: unknown offerer ${rekey.str("offerer")}")
            }
            val (offerer, oStore, oMedia) = if (initiatorOffers) Triple(ini, iStore, iMedia) else Triple(res, rStore, rMedia)
            val (answerer, aStore, aMedia) = if (initiatorOffers) Triple(res, rStore, rMedia) else Triple(ini, iStore, iMedia)
            val offer = offerer.rekeyScripted(rekey.bytes("offerer_entropy"))
            assertArrayEquals(name, rekeyMessages[0], offer)
            assertTrue(offerer.rekeyPending())
            val answer = answerer.handleScripted(offer, aStore, rekey.bytes("answerer_entropy"))
            assertArrayEquals(name, rekeyMessages[1], answer.reply)
            answer.media!!.apply(aMedia)
            val done = offerer.handle(answer.reply!!, oStore)
            assertArrayEquals(name, rekeyMessages[2], done.reply)
            done.media!!.apply(oMedia)
            val finished = answerer.handle(done.reply!!, aStore)
            assertNull(name, finished.reply)
            assertNull(name, finished.ignored)
            finished.media!!.apply(aMedia)
            val epoch = rekey.long("epoch").toUInt()
            for (h in listOf(answer, done, finished)) assertEquals(name, epoch, h.media!!.epoch())
            assertEquals(name, epoch, ini.epoch())
            assertEquals(name, epoch, res.epoch())
            assertFalse(offerer.rekeyPending())
            checkFrames(name, rekey.obj("frames"), iMedia, rMedia)

            listOf(answer, done, finished, iMedia, rMedia, ini, res, iStore, rStore, iIdentity, rIdentity)
                .forEach { it.destroy() }
        }
        assertTrue(cases.size >= 9)
        assertEquals((1..8).map { it.toUShort() }.toSet(), cases.map { it.suite() }.toSet())
    }

    /** Each side encrypts `payload` to exactly the given frame; the other side decrypts it. */
    private fun checkFrames(name: String, frames: Map<String, Any?>, iMedia: CallMedia, rMedia: CallMedia) {
        val payload = frames.bytes("payload")
        val codec = frames.str("codec")
        val iToR = iMedia.sender.encryptFrame(codec, payload)
        val rToI = rMedia.sender.encryptFrame(codec, payload)
        assertEquals(name, frames.str("initiator_to_responder"), iToR.hex())
        assertEquals(name, frames.str("responder_to_initiator"), rToI.hex())
        assertArrayEquals(name, payload, rMedia.receiver.decryptFrame(iToR).payload)
        assertArrayEquals(name, payload, iMedia.receiver.decryptFrame(rToI).payload)
    }

    @Test
    fun tooLittleScriptedRandomnessIsEntropy() {
        try {
            initiateCallScripted(IdentityKeyPair.generate(), "alice", ExpectedPeer("bob"), CallConfig(), ByteArray(10))
            fail("a call started on 10 bytes of randomness")
        } catch (e: CallsealException.Entropy) {
            assertEquals("entropy", e.code())
        }
    }

    /**
     * errorCodes() is the core's list: one CallsealException subclass per
     * code, whose code() (computed by the core from the error handed back to
     * Rust) gives the list.
     */
    @Test
    fun everyErrorKindHasItsKotlinCode() {
        val kinds = CallsealException::class.java.declaredClasses
            .filter { CallsealException::class.java.isAssignableFrom(it) }
            .map { it.getConstructor(String::class.java).newInstance("why") as CallsealException }
        assertEquals(errorCodes(), errorCodes().distinct())
        assertEquals(errorCodes().toSet(), kinds.map { it.code() }.toSet())
        assertEquals(errorCodes().size, kinds.size)
        assertTrue("wrong-peer" in errorCodes())
    }
}
