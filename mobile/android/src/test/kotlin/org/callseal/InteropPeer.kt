// One callseal endpoint on the JVM, driven line by line over stdin/stdout by
// tests/interop/driver.mjs, which runs the other endpoint in WebAssembly.
// Every request is one line "verb arg...", bytes in hex; every answer one
// line: "ok [value...]" or "error <code> <message>".
package org.callseal

fun main() {
    var store = IdentityStore.memory()
    var session: CallSession? = null
    var media: CallMedia? = null
    val receivers = HashMap<String, FrameReceiver>()
    val out = System.out

    fun answer(line: String) {
        out.println(line)
        out.flush()
    }

    while (true) {
        val line = readLine() ?: break
        val w = line.trim().split(" ")
        try {
            when (w[0]) {
                // initiate uid peerUid suite
                "initiate" -> {
                    val config = CallConfig(suite = w[3].toUShort())
                    val start = CallSession.initiate(IdentityKeyPair.generate(), w[1], ExpectedPeer(w[2]), config)
                    session = start.session
                    answer("ok ${start.message.hex()}")
                }
                // respond uid commit [expectedPeerUid]
                "respond" -> {
                    val expected = w.getOrNull(3)?.let { ExpectedPeer(it) }
                    val start = CallSession.respond(IdentityKeyPair.generate(), w[1], w[2].unhex(), expected)
                    session = start.session
                    answer("ok ${start.message.hex()}")
                }
                // handle message -> "ok <reply|none> <media update's epoch|none> <ignored|none>";
                // a media update is applied at once to the media taken.
                "handle" -> {
                    val handled = session!!.handle(w[1].unhex(), store)
                    val update = handled.media?.let { u ->
                        val m = media ?: error("a media update before the media were taken")
                        u.apply(m)
                        u.epoch().toString().also { u.close() }
                    }
                    answer("ok ${handled.reply?.hex() ?: "none"} ${update ?: "none"} ${handled.ignored ?: "none"}")
                }
                "rekey" -> answer("ok ${session!!.rekey().hex()}")
                "epoch" -> answer("ok ${session!!.epoch()}")
                "code" -> answer("ok ${session!!.securityCode()}")
                "state" -> answer("ok ${session!!.state()} ${session!!.peerUid()}")
                "media" -> {
                    media = session!!.takeMedia()
                    answer("ok")
                }
                "encrypt" -> answer("ok ${media!!.sender.encryptFrame(w[1], w[2].unhex()).hex()}")
                "ratchet" -> {
                    media!!.sender.ratchet()
                    answer("ok ${media!!.sender.kid()}")
                }
                "decrypt" -> {
                    val f = media!!.receiver.decryptFrame(w[1].unhex())
                    answer("ok ${f.codec} ${f.kid} ${f.payload.hex()}")
                }
                // frame-encrypt suite kid key counter metadata payload
                "frame-encrypt" -> FrameSender.startingAt(w[1].toUShort(), w[2].toULong(), w[3].unhex(), w[4].toULong())
                    .use { answer("ok ${it.encrypt(w[5].unhex(), w[6].unhex()).hex()}") }
                // frame-decrypt suite kid key metadata frame (one receiver per suite/kid/key)
                "frame-decrypt" -> {
                    val r = receivers.getOrPut("${w[1]} ${w[2]} ${w[3]}") {
                        FrameReceiver().also { it.addKey(w[2].toULong(), w[1].toUShort(), w[3].unhex()) }
                    }
                    answer("ok ${r.decrypt(w[4].unhex(), w[5].unhex()).hex()}")
                }
                "reset" -> {
                    store.close()
                    store = IdentityStore.memory()
                    session = null
                    media = null
                    answer("ok")
                }
                "quit" -> {
                    answer("ok")
                    return
                }
                else -> answer("error invalid-argument unknown verb ${w[0]}")
            }
        } catch (e: CallsealException) {
            answer("error ${e.code()} ${e.message}")
        } catch (e: IllegalStateException) {
            answer("error test-driver ${e.message}")
        } catch (e: NullPointerException) {
            answer("error test-driver ${e.message}")
        }
    }
}
