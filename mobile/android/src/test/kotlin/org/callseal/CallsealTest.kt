// The Kotlin API on a real JVM against the real library: behaviour, typed
// errors, lifetimes and threads.
package org.callseal

import java.io.File
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class CallsealTest {
    private val key = ByteArray(16) { 0x42 }

    @Test
    fun versionIsTheWorkspaceVersion() {
        assertEquals(System.getProperty("callseal.version"), version())
    }

    @Test
    fun framesRoundTripAndReplaysAreRefused() {
        FrameSender(4u, 7uL, key).use { sender ->
            FrameReceiver().use { receiver ->
                receiver.addKey(7uL, 4u, key)
                assertTrue(receiver.hasKey(7uL))
                assertEquals(7uL, sender.kid())
                assertEquals(0uL, sender.nextCounter())
                val frame = sender.encrypt("meta".toByteArray(), "hello".toByteArray())
                assertEquals(1uL, sender.nextCounter())
                assertEquals("hello", String(receiver.decrypt("meta".toByteArray(), frame)))
                try {
                    receiver.decrypt("meta".toByteArray(), frame)
                    fail("a replayed frame was accepted")
                } catch (e: CallsealException.Replay) {
                    assertEquals("replay", e.code())
                }
                assertTrue(receiver.removeKey(7uL))
                assertFalse(receiver.hasKey(7uL))
            }
        }
    }

    /** Every kind of failure surfaces as a typed exception, and the process goes on. */
    @Test
    fun failuresAreTypedExceptionsAndTheProcessLivesOn() {
        val attempts: List<Pair<String, () -> Unit>> = listOf(
            "malformed" to { FrameReceiver().use { it.decrypt(ByteArray(0), ByteArray(0)) } },
            "invalid-argument" to { FrameSender(9u, 1uL, key).close() },
            "invalid-argument" to { FrameSender(4u, 1uL, ByteArray(0)).close() },
            "invalid-argument" to { FrameReceiver.withConfig(0u, 16u, 8u).close() },
            "invalid-argument" to { MediaSender(4u, 1uL, key).use { it.encryptFrame("VP7", ByteArray(4)) } },
            "invalid-argument" to { MediaSender(4u, 1uL, key).use { it.ratchet() } },
            "invalid-argument" to { IdentityKeyPair.fromBytes(ByteArray(31)).close() },
            "unknown-key-id" to {
                val frame = FrameSender(4u, 8uL, key).use { it.encrypt(ByteArray(0), ByteArray(3)) }
                FrameReceiver().use { it.decrypt(ByteArray(0), frame) }
            },
            "authentication-failed" to {
                val frame = FrameSender(4u, 7uL, key).use { it.encrypt(ByteArray(0), ByteArray(3)) }
                FrameReceiver().use { it.addKey(7uL, 4u, ByteArray(16) { 1 }); it.decrypt(ByteArray(0), frame) }
            },
            "malformed" to { MediaReceiver().use { it.decryptFrame(byteArrayOf(0x01)) } },
            "protocol-violation" to {
                val start = CallSession.initiate(IdentityKeyPair.generate(), "alice", ExpectedPeer("bob"))
                start.session.handle(start.message, IdentityStore.memory())
            },
            "wrong-peer" to {
                val start = CallSession.initiate(IdentityKeyPair.generate(), "alice", ExpectedPeer("bob"))
                CallSession.respond(IdentityKeyPair.generate(), "eve", start.message)
            },
            "invalid-argument" to {
                CallSession.initiate(IdentityKeyPair.generate(), "alice", ExpectedPeer("bob"), CallConfig(suite = 8u))
            },
            "storage" to {
                val dir = File.createTempFile("callseal", ".json")
                dir.writeText("not json")
                try { IdentityStore.open(dir.path) } finally { dir.delete() }
            },
        )
        val seen = mutableListOf<String>()
        repeat(3) {
            for ((expected, attempt) in attempts) {
                val code = try {
                    attempt()
                    "no error"
                } catch (e: CallsealException) {
                    // Callers branch on the sealed class.
                    when (e) {
                        is CallsealException.Malformed,
                        is CallsealException.InvalidArgument,
                        is CallsealException.UnknownKeyId,
                        is CallsealException.AuthenticationFailed,
                        is CallsealException.ProtocolViolation,
                        is CallsealException.WrongPeer,
                        is CallsealException.Storage -> assertTrue(e.message!!.isNotEmpty())
                        else -> fail("unexpected kind ${e.code()}")
                    }
                    e.code()
                }
                assertEquals(expected, code)
                seen.add(code)
            }
        }
        assertEquals(attempts.size * 3, seen.size)
        // Still alive and working.
        FrameSender(4u, 1uL, key).use { assertEquals(17 + 1 + 16, it.encrypt(ByteArray(0), ByteArray(17)).size) }
    }

    @Test
    fun anExhaustedSenderRefusesToEncrypt() {
        FrameSender.startingAt(4u, 1uL, key, ULong.MAX_VALUE).use { sender ->
            sender.encrypt(ByteArray(0), ByteArray(1))
            assertNull(sender.nextCounter())
            try {
                sender.encrypt(ByteArray(0), ByteArray(1))
                fail("an exhausted sender encrypted")
            } catch (e: CallsealException.KeyExhausted) {
                assertEquals("key-exhausted", e.code())
            }
        }
    }

    @Test
    fun aClosedObjectIsRefusedNotCrashed() {
        val sender = FrameSender(4u, 1uL, key)
        sender.close()
        try {
            sender.encrypt(ByteArray(0), ByteArray(1))
            fail("a closed sender encrypted")
        } catch (e: IllegalStateException) {
            assertTrue(e.message!!.isNotEmpty())
        }
    }

    @Test
    fun objectsAreSharedAcrossThreads() {
        val threads = 4
        val perThread = 250
        FrameSender(1u, 3uL, key).use { sender ->
            FrameReceiver().use { receiver ->
                receiver.addKey(3uL, 1u, key)
                val pool = Executors.newFixedThreadPool(threads)
                val frames = (0 until threads).map { t ->
                    pool.submit<List<ByteArray>> {
                        (0 until perThread).map { n -> sender.encrypt(ByteArray(0), "t$t n$n".toByteArray()) }
                    }
                }.flatMap { it.get() }
                val decrypted = frames.map { f -> pool.submit<String> { String(receiver.decrypt(ByteArray(0), f)) } }
                    .map { it.get() }
                pool.shutdown()
                pool.awaitTermination(1, TimeUnit.MINUTES)
                // Every frame used its own counter and decrypted once.
                assertEquals((threads * perThread).toULong(), sender.nextCounter())
                assertEquals(threads * perThread, decrypted.toSet().size)
            }
        }
    }

    @Test
    fun mediaModeKeepsCodecBytesClear() {
        val h264 = ("00000001" + "6742c01ed900a047fec8" + "00000001" + "68ce3c80" +
            "00000001" + "65888400" + "21ff000003017f").unhex()
        MediaSender(4u, 1uL, key).use { sender ->
            MediaReceiver().use { receiver ->
                receiver.addKey(1uL, 4u, key)
                val protected = sender.encryptFrame("H.264", h264)
                assertArrayEquals(h264.copyOfRange(0, 29), protected.copyOfRange(0, 29))
                val frame = receiver.decryptFrame(protected)
                assertEquals("H.264", frame.codec)
                assertEquals(DecryptedFrame("H.264", 1uL, 0uL, h264).codec, frame.codec)
                assertArrayEquals(h264, frame.payload)
            }
        }
    }

    @Test
    fun aCallVerifiesOnceAndRemembers() {
        val dir = createTempDir()
        try {
            val alice = IdentityKeyPair.generate()
            val bob = IdentityKeyPair.generate()
            val aliceStore = IdentityStore.open(File(dir, "alice.json").path)
            val bobStore = IdentityStore.open(File(dir, "bob.json").path)

            fun call(bobKey: IdentityKeyPair): Pair<CallSession, CallSession> {
                val a = CallSession.initiate(alice, "alice", ExpectedPeer("bob"))
                val b = CallSession.respond(bobKey, "bob", a.message)
                val reveal = a.session.handle(b.message, aliceStore).reply!!
                val confirm = b.session.handle(reveal, bobStore).reply!!
                assertNull(a.session.handle(confirm, aliceStore).reply)
                return a.session to b.session
            }

            val (a1, b1) = call(bob)
            assertEquals(CallState.ENCRYPTED, a1.state())
            assertEquals(Indicator.LOCK_AND_SHIELD, a1.indicator())
            assertEquals(PeerStatus.NEW, a1.peerStatus())
            val code = a1.securityCode()!!
            assertTrue(Regex("\\d{5} \\d{5} \\d{5} \\d{5}").matches(code))
            assertEquals(code, b1.securityCode())
            a1.markVerified(aliceStore)
            assertEquals(CallState.VERIFIED, a1.state())
            assertEquals(Indicator.LOCK_AND_SHIELD_VERIFIED, a1.indicator())

            // Media both ways, with a ratchet on the way.
            val am = a1.takeMedia()
            val bm = b1.takeMedia()
            val firstKid = am.sender.kid()
            val opus = byteArrayOf(0x78) + "one".toByteArray()
            assertArrayEquals(opus, bm.receiver.decryptFrame(am.sender.encryptFrame("Opus", opus)).payload)
            am.sender.ratchet()
            assertNotEquals(firstKid, am.sender.kid())
            assertEquals(am.sender.kid(), bm.receiver.decryptFrame(am.sender.encryptFrame("generic", byteArrayOf(1))).kid)
            assertArrayEquals(byteArrayOf(2), am.receiver.decryptFrame(bm.sender.encryptFrame("generic", byteArrayOf(2))).payload)
            try {
                a1.takeMedia()
                fail("media taken twice")
            } catch (e: CallsealException.ProtocolViolation) {
                assertEquals("protocol-violation", e.code())
            }

            // The store is a file: a new process (a new store object) remembers.
            val (a2, _) = call(bob)
            assertEquals(PeerStatus.KNOWN_VERIFIED, a2.peerStatus())
            assertEquals(CallState.VERIFIED, a2.state())
            val reopened = IdentityStore.open(File(dir, "alice.json").path)
            reopened.close()

            // Bob's key changed: flagged, and no longer verified.
            val (a3, _) = call(IdentityKeyPair.generate())
            assertEquals(PeerStatus.CHANGED, a3.peerStatus())
            assertEquals(CallState.ENCRYPTED, a3.state())
        } finally {
            dir.deleteRecursively()
        }
    }

    @Test
    fun secretsStayOutOfToString() {
        val identity = IdentityKeyPair.generate()
        val secret = identity.toBytes()
        assertEquals(32, secret.size)
        assertArrayEquals(identity.publicKey(), IdentityKeyPair.fromBytes(secret).publicKey())
        for (text in listOf(identity.toString(), FrameSender(4u, 1uL, key).toString())) {
            assertFalse(text.contains(secret.hex()))
            assertFalse(text.contains(key.hex()))
        }
        // The returned array is the caller's copy: wiping it leaves the key pair whole.
        secret.fill(0)
        assertArrayEquals(ByteArray(32), secret)
        assertEquals(32, identity.toBytes().also { it.fill(0) }.size)
        assertArrayEquals(identity.publicKey(), IdentityKeyPair.fromBytes(identity.toBytes()).publicKey())
    }

    private fun createTempDir(): File = java.nio.file.Files.createTempDirectory("callseal").toFile()
}
