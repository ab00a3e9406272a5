// 1:1 calls of protocol version 2 through the Kotlin API (PROTOCOL.md §3):
// the intended peer, in-call rekeys with their media updates, and an
// established call that ignores what it does not expect.
package org.callseal

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class CallTest {
    /** Both sides of an established call, with their stores and media. */
    private class Call(
        val alice: CallSession,
        val bob: CallSession,
        val aliceStore: IdentityStore,
        val bobStore: IdentityStore,
    ) {
        val aliceMedia: CallMedia by lazy { alice.takeMedia() }
        val bobMedia: CallMedia by lazy { bob.takeMedia() }
        var commit = ByteArray(0)
        var reveal = ByteArray(0)
    }

    private fun call(config: CallConfig = CallConfig()): Call {
        val aliceStore = IdentityStore.memory()
        val bobStore = IdentityStore.memory()
        val a = CallSession.initiate(IdentityKeyPair.generate(), "alice", ExpectedPeer("bob"), config)
        val b = CallSession.respond(IdentityKeyPair.generate(), "bob", a.message, ExpectedPeer("alice"), config)
        val reveal = a.session.handle(b.message, aliceStore).reply!!
        val confirm = b.session.handle(reveal, bobStore).reply!!
        val last = a.session.handle(confirm, aliceStore)
        assertNull(last.reply)
        assertNull(last.media)
        assertNull(last.ignored)
        return Call(a.session, b.session, aliceStore, bobStore).also {
            it.commit = a.message
            it.reveal = reveal
        }
    }

    /** A frame from [from] decrypts at [to] to the same bytes, under key id [kid] if given. */
    private fun sendsTo(from: CallMedia, to: CallMedia, codec: String, frame: ByteArray, kid: ULong? = null) {
        val protected = from.sender.encryptFrame(codec, frame)
        val got = to.receiver.decryptFrame(protected)
        assertArrayEquals(frame, got.payload)
        assertEquals(codec, got.codec)
        if (kid != null) assertEquals(kid, got.kid)
    }

    /** One rekey with [offerer] offering; applies every update at once. */
    private fun rekey(
        offerer: CallSession, oStore: IdentityStore, oMedia: CallMedia,
        answerer: CallSession, aStore: IdentityStore, aMedia: CallMedia,
    ) {
        assertFalse(offerer.rekeyPending())
        val offer = offerer.rekey()
        assertTrue(offerer.rekeyPending())
        assertArrayEquals("a pending offer is resent as is", offer, offerer.rekey())
        // A frame the offerer sends before the exchange completes is not lost.
        val inFlight = oMedia.sender.encryptFrame("generic", byteArrayOf(7, 7))
        val answer = answerer.handle(offer, aStore)
        assertNull(answer.ignored)
        answer.media!!.use { update ->
            assertTrue(update.changesReceiver())
            update.apply(aMedia)
            assertFalse("each half takes effect once", update.changesReceiver())
            update.apply(aMedia)
        }
        // The answerer still sends under the previous epoch; the offerer follows.
        sendsTo(aMedia, oMedia, "generic", byteArrayOf(1))
        val done = offerer.handle(answer.reply!!, oStore)
        done.media!!.use { update ->
            assertTrue(update.changesSender())
            update.apply(oMedia)
        }
        assertFalse(offerer.rekeyPending())
        val finished = answerer.handle(done.reply!!, aStore)
        assertNull(finished.reply)
        finished.media!!.use { update ->
            assertTrue(update.changesSender())
            // From epoch 2 on, the Done also retires the offerer's keys of
            // two epochs ago (it switched before sending the Done).
            assertEquals(offerer.epoch() >= 2u, update.changesReceiver())
            // A wrapper whose sender and receiver live apart applies the halves.
            update.applyToReceiver(aMedia.receiver)
            update.applyToSender(aMedia.sender)
            assertFalse(update.changesSender())
        }
        assertArrayEquals(byteArrayOf(7, 7), aMedia.receiver.decryptFrame(inFlight).payload)
        assertEquals(offerer.epoch(), answerer.epoch())
    }

    @Test
    fun aFullCallRekeysInEachDirectionWithMediaBothWays() {
        val c = call()
        assertEquals(CallState.ENCRYPTED, c.alice.state())
        assertEquals(c.alice.securityCode(), c.bob.securityCode())
        assertEquals("bob", c.alice.peerUid())
        assertEquals("alice", c.bob.peerUid())
        assertEquals(0u, c.alice.epoch())
        val opus = byteArrayOf(0x78) + "hello".toByteArray()
        val h264 = ("00000001" + "65888400" + "21ff000003017f").unhex()
        // Epoch 0: generation 1 (alice, the initiator) and 2 (bob), ratchet step 0.
        sendsTo(c.aliceMedia, c.bobMedia, "Opus", opus, kid = 1uL shl 8)
        sendsTo(c.bobMedia, c.aliceMedia, "H.264", h264, kid = 2uL shl 8)

        // Bob (the responder) rekeys, then alice: epochs 1 and 2.
        rekey(c.bob, c.bobStore, c.bobMedia, c.alice, c.aliceStore, c.aliceMedia)
        assertEquals(1u, c.alice.epoch())
        sendsTo(c.aliceMedia, c.bobMedia, "Opus", opus, kid = 3uL shl 8)
        sendsTo(c.bobMedia, c.aliceMedia, "H.264", h264, kid = 4uL shl 8)
        rekey(c.alice, c.aliceStore, c.aliceMedia, c.bob, c.bobStore, c.bobMedia)
        assertEquals(2u, c.bob.epoch())
        sendsTo(c.aliceMedia, c.bobMedia, "generic", byteArrayOf(1, 2, 3), kid = 5uL shl 8)
        sendsTo(c.bobMedia, c.aliceMedia, "generic", byteArrayOf(4, 5, 6), kid = 6uL shl 8)
        // Ratchet steps within the epoch go on as before.
        c.aliceMedia.sender.ratchet()
        sendsTo(c.aliceMedia, c.bobMedia, "Opus", opus, kid = (5uL shl 8) + 1uL)
        // Rekeys leave the code and the state alone.
        assertEquals(c.alice.securityCode(), c.bob.securityCode())
        assertEquals(CallState.ENCRYPTED, c.bob.state())
    }

    @Test
    fun simultaneousOffersResolveToTheInitiators() {
        val c = call()
        val fromAlice = c.alice.rekey()
        val fromBob = c.bob.rekey()
        val ignored = c.alice.handle(fromBob, c.aliceStore)
        assertEquals("rekey-collision", ignored.ignored)
        // Alice sends her own offer again, in case it was lost.
        assertArrayEquals(fromAlice, ignored.reply)
        val answer = c.bob.handle(fromAlice, c.bobStore)
        answer.media!!.apply(c.bobMedia)
        assertFalse("bob dropped his own offer", c.bob.rekeyPending())
        val done = c.alice.handle(answer.reply!!, c.aliceStore)
        done.media!!.apply(c.aliceMedia)
        c.bob.handle(done.reply!!, c.bobStore).media!!.apply(c.bobMedia)
        assertEquals(1u, c.alice.epoch())
        assertEquals(1u, c.bob.epoch())
        sendsTo(c.aliceMedia, c.bobMedia, "generic", byteArrayOf(9), kid = 3uL shl 8)
        sendsTo(c.bobMedia, c.aliceMedia, "generic", byteArrayOf(8), kid = 4uL shl 8)
    }

    @Test
    fun rekeyDueFollowsTheConfiguredPeriod() {
        assertEquals(600_000uL, CallConfig().rekeyEveryMs)
        assertEquals(CallConfig(4u, false, 600_000uL), CallConfig())
        val c = call(CallConfig(rekeyEveryMs = 1_000uL))
        assertFalse("the first call starts the clock", c.alice.rekeyDue(5_000uL))
        assertFalse(c.alice.rekeyDue(5_999uL))
        assertTrue(c.alice.rekeyDue(6_000uL))
        c.alice.rekey()
        assertFalse("not while an offer is pending", c.alice.rekeyDue(9_000uL))
        val never = call(CallConfig(rekeyEveryMs = 0uL))
        never.bob.rekeyDue(0uL)
        assertFalse(never.bob.rekeyDue(ULong.MAX_VALUE))
    }

    @Test
    fun theWrongPeerIsRefusedWithWrongPeer() {
        val alice = IdentityKeyPair.generate()
        val bob = IdentityKeyPair.generate()
        val eve = IdentityKeyPair.generate()
        val pinned = CallSession.initiate(alice, "alice", ExpectedPeer("bob", bob.publicKey()))

        // The Commit calls bob: eve refuses it herself.
        try {
            CallSession.respond(eve, "eve", pinned.message)
            fail("eve answered a call to bob")
        } catch (e: CallsealException.WrongPeer) {
            assertEquals("wrong-peer", e.code())
        }
        // Bob waits for carol's call, not alice's.
        try {
            CallSession.respond(bob, "bob", pinned.message, ExpectedPeer("carol"))
            fail("bob answered the wrong caller")
        } catch (e: CallsealException.WrongPeer) {
        }
        // ... or for alice's, under another key than hers.
        try {
            CallSession.respond(bob, "bob", pinned.message, ExpectedPeer("alice", eve.publicKey()))
            fail("bob answered a caller with the wrong key")
        } catch (e: CallsealException.WrongPeer) {
        }

        // Eve answers under bob's name with her own key: alice pinned bob's.
        val forged = CallSession.respond(eve, "bob", pinned.message)
        val store = IdentityStore.memory()
        try {
            pinned.session.handle(forged.message, store)
            fail("alice accepted eve's key for bob")
        } catch (e: CallsealException.WrongPeer) {
            assertEquals("wrong-peer", e.code())
        }
        assertEquals(CallState.FAILED, pinned.session.state())
        assertNull(pinned.session.securityCode())
        try {
            pinned.session.handle(forged.message.copyOf().also { it[it.size - 1] = 0 }, store)
            fail("a failed session went on")
        } catch (e: CallsealException.ProtocolViolation) {
        }

        // With bob's real key, the pinned call completes.
        val again = CallSession.initiate(alice, "alice", ExpectedPeer("bob", bob.publicKey()))
        val answer = CallSession.respond(bob, "bob", again.message, ExpectedPeer("alice", alice.publicKey()))
        assertArrayEquals(alice.publicKey(), answer.session.peerIdentity())
        assertNotNull(again.session.handle(answer.message, store).reply)
        assertArrayEquals(bob.publicKey(), again.session.peerIdentity())
        // A pinned key is 32 bytes.
        try {
            CallSession.initiate(alice, "alice", ExpectedPeer("bob", ByteArray(31)))
            fail("a 31-byte key was pinned")
        } catch (e: CallsealException.InvalidArgument) {
        }
    }

    @Test
    fun anEstablishedCallIgnoresStrayMessages() {
        val c = call()
        val other = call()
        val offer = c.alice.rekey()
        val tampered = offer.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() }
        val strays = listOf(
            "malformed" to byteArrayOf(2, 5, 0),
            "other-session" to other.commit,
            "other-session" to other.alice.rekey(),
            "handshake" to c.commit,
            "bad-mac" to tampered,
            // Alice's own offer reflected back: the MAC key is her role's.
            "bad-mac" to offer,
        )
        for ((why, message) in strays) {
            val receiver = if (message === offer) c.alice else c.bob
            val store = if (receiver === c.alice) c.aliceStore else c.bobStore
            val handled = receiver.handle(message, store)
            assertEquals(why, why, handled.ignored)
            assertNull(why, handled.reply)
            assertNull(why, handled.media)
        }
        // A repeat gets the same reply again: the signalling may retransmit.
        val repeat = c.bob.handle(c.reveal, c.bobStore)
        assertEquals("repeat", repeat.ignored)
        assertNotNull(repeat.reply)
        // Nothing moved: the call goes on, and the pending rekey completes.
        assertEquals(CallState.ENCRYPTED, c.alice.state())
        assertEquals(CallState.ENCRYPTED, c.bob.state())
        sendsTo(c.aliceMedia, c.bobMedia, "generic", byteArrayOf(1))
        val answer = c.bob.handle(offer, c.bobStore)
        answer.media!!.apply(c.bobMedia)
        val done = c.alice.handle(answer.reply!!, c.aliceStore)
        done.media!!.apply(c.aliceMedia)
        c.bob.handle(done.reply!!, c.bobStore).media!!.apply(c.bobMedia)
        // Replays of the finished exchange: the last message answered gets the
        // same answer again; any other message of it is stale.
        val again = c.bob.handle(offer, c.bobStore)
        assertEquals("repeat", again.ignored)
        assertArrayEquals(answer.reply, again.reply)
        assertNull(again.media)
        assertEquals("stale", c.bob.handle(tampered, c.bobStore).ignored)
        val otherAnswer = answer.reply!!.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() }
        assertEquals("stale", c.alice.handle(otherAnswer, c.aliceStore).ignored)
        assertEquals(1u, c.alice.epoch())
        sendsTo(c.bobMedia, c.aliceMedia, "generic", byteArrayOf(2), kid = 4uL shl 8)
    }
}
