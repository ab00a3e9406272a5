// The Swift API against the real library: behaviour, typed errors and
// threads. Mirrors mobile/android/src/test/kotlin/org/callseal/CallsealTest.kt.
import Callseal
import Foundation
import XCTest

final class CallsealTests: XCTestCase {
    let key = Data(repeating: 0x42, count: 16)

    func testVersionLooksLikeSemver() {
        XCTAssertNotNil(version().range(of: #"^\d+\.\d+\.\d+"#, options: .regularExpression))
    }

    func testFramesRoundTripAndReplaysAreRefused() throws {
        let sender = try FrameSender(suite: 4, kid: 7, baseKey: key)
        let receiver = FrameReceiver()
        try receiver.addKey(kid: 7, suite: 4, baseKey: key)
        XCTAssertTrue(receiver.hasKey(kid: 7))
        XCTAssertEqual(sender.nextCounter(), 0)
        let frame = try sender.encrypt(metadata: Data("meta".utf8), payload: Data("hello".utf8))
        XCTAssertEqual(sender.nextCounter(), 1)
        XCTAssertEqual(try receiver.decrypt(metadata: Data("meta".utf8), frame: frame), Data("hello".utf8))
        XCTAssertThrowsError(try receiver.decrypt(metadata: Data("meta".utf8), frame: frame)) { error in
            guard case CallsealError.Replay = error else { return XCTFail("expected Replay, got \(error)") }
            XCTAssertEqual((error as? CallsealError)?.code(), "replay")
        }
        XCTAssertTrue(receiver.removeKey(kid: 7))
        XCTAssertFalse(receiver.hasKey(kid: 7))
    }

    func testFailuresAreTypedErrorsAndTheProcessLivesOn() throws {
        let key = self.key
        let attempts: [(String, () throws -> Void)] = [
            ("malformed", { _ = try FrameReceiver().decrypt(metadata: Data(), frame: Data()) }),
            ("invalid-argument", { _ = try FrameSender(suite: 9, kid: 1, baseKey: key) }),
            ("invalid-argument", { _ = try FrameSender(suite: 4, kid: 1, baseKey: Data()) }),
            ("invalid-argument", { _ = try FrameReceiver.withConfig(replayWindow: 0, maxRatchetSteps: 16, retainedRatchetKeys: 8) }),
            ("invalid-argument", { _ = try MediaSender(suite: 4, kid: 1, baseKey: key).encryptFrame(codec: "VP7", frame: Data(count: 4)) }),
            ("invalid-argument", { try MediaSender(suite: 4, kid: 1, baseKey: key).ratchet() }),
            ("invalid-argument", { _ = try IdentityKeyPair.fromBytes(secret: Data(count: 31)) }),
            ("unknown-key-id", {
                let frame = try FrameSender(suite: 4, kid: 8, baseKey: key).encrypt(metadata: Data(), payload: Data(count: 3))
                _ = try FrameReceiver().decrypt(metadata: Data(), frame: frame)
            }),
            ("malformed", { _ = try MediaReceiver().decryptFrame(frame: Data([0x01])) }),
            ("protocol-violation", {
                let start = try CallSession.initiate(
                    identity: try IdentityKeyPair.generate(), uid: "alice", peer: ExpectedPeer(uid: "bob"))
                _ = try start.session.handle(message: start.message, store: IdentityStore.memory())
            }),
            ("wrong-peer", {
                let start = try CallSession.initiate(
                    identity: try IdentityKeyPair.generate(), uid: "alice", peer: ExpectedPeer(uid: "bob"))
                _ = try CallSession.respond(identity: try IdentityKeyPair.generate(), uid: "eve", commit: start.message)
            }),
            ("invalid-argument", {
                _ = try CallSession.initiate(
                    identity: try IdentityKeyPair.generate(), uid: "alice", peer: ExpectedPeer(uid: "bob"),
                    config: CallConfig(suite: 8))
            }),
        ]
        for _ in 0..<3 {
            for (expected, attempt) in attempts {
                XCTAssertThrowsError(try attempt()) { error in
                    XCTAssertEqual((error as? CallsealError)?.code(), expected)
                }
            }
        }
        XCTAssertEqual(try FrameSender(suite: 4, kid: 1, baseKey: key).encrypt(metadata: Data(), payload: Data(count: 17)).count, 34)
    }

    func testAnExhaustedSenderRefusesToEncrypt() throws {
        let sender = try FrameSender.startingAt(suite: 4, kid: 1, baseKey: key, counter: UInt64.max)
        _ = try sender.encrypt(metadata: Data(), payload: Data(count: 1))
        XCTAssertNil(sender.nextCounter())
        XCTAssertThrowsError(try sender.encrypt(metadata: Data(), payload: Data(count: 1))) { error in
            XCTAssertEqual((error as? CallsealError)?.code(), "key-exhausted")
        }
    }

    func testObjectsAreSharedAcrossThreads() throws {
        let sender = try FrameSender(suite: 1, kid: 3, baseKey: key)
        let receiver = FrameReceiver()
        try receiver.addKey(kid: 3, suite: 1, baseKey: key)
        let lock = NSLock()
        var frames = [Data]()
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            let made = (0..<250).map { n in try! sender.encrypt(metadata: Data(), payload: Data("t\(t) n\(n)".utf8)) }
            lock.lock(); frames += made; lock.unlock()
        }
        XCTAssertEqual(sender.nextCounter(), 1000)
        XCTAssertEqual(Set(try frames.map { try receiver.decrypt(metadata: Data(), frame: $0) }).count, 1000)
    }

    func testACallVerifiesOnceAndRemembers() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let alice = try IdentityKeyPair.generate(), bob = try IdentityKeyPair.generate()
        let aliceStore = try IdentityStore.open(path: dir.appendingPathComponent("alice.json").path)
        let bobStore = try IdentityStore.open(path: dir.appendingPathComponent("bob.json").path)

        func call(_ bobKey: IdentityKeyPair) throws -> (CallSession, CallSession) {
            let a = try CallSession.initiate(identity: alice, uid: "alice", peer: ExpectedPeer(uid: "bob"))
            let b = try CallSession.respond(identity: bobKey, uid: "bob", commit: a.message)
            let reveal = try XCTUnwrap(try a.session.handle(message: b.message, store: aliceStore).reply)
            let confirm = try XCTUnwrap(try b.session.handle(message: reveal, store: bobStore).reply)
            XCTAssertNil(try a.session.handle(message: confirm, store: aliceStore).reply)
            return (a.session, b.session)
        }

        let (a1, b1) = try call(bob)
        XCTAssertEqual(a1.state(), .encrypted)
        XCTAssertEqual(a1.indicator(), .lockAndShield)
        XCTAssertEqual(a1.peerStatus(), .new)
        XCTAssertEqual(a1.securityCode(), b1.securityCode())
        try a1.markVerified(store: aliceStore)
        XCTAssertEqual(a1.state(), .verified)

        let am = try a1.takeMedia(), bm = try b1.takeMedia()
        let firstKid = am.sender.kid()
        let opus = Data([0x78]) + Data("one".utf8)
        XCTAssertEqual(try bm.receiver.decryptFrame(frame: try am.sender.encryptFrame(codec: "Opus", frame: opus)).payload, opus)
        try am.sender.ratchet()
        XCTAssertNotEqual(am.sender.kid(), firstKid)
        XCTAssertEqual(try bm.receiver.decryptFrame(frame: try am.sender.encryptFrame(codec: "generic", frame: Data([1]))).kid, am.sender.kid())

        let (a2, _) = try call(bob)
        XCTAssertEqual(a2.peerStatus(), .knownVerified)
        XCTAssertEqual(a2.state(), .verified)
        let (a3, _) = try call(try IdentityKeyPair.generate())
        XCTAssertEqual(a3.peerStatus(), .changed)
        XCTAssertEqual(a3.state(), .encrypted)
    }

    func testSecretsStayOutOfDescriptions() throws {
        let identity = try IdentityKeyPair.generate()
        var secret = identity.toBytes()
        XCTAssertEqual(secret.count, 32)
        XCTAssertEqual(try IdentityKeyPair.fromBytes(secret: secret).publicKey(), identity.publicKey())
        XCTAssertFalse(String(describing: identity).contains(secret.hex))
        // The returned Data is the caller's copy, to wipe once stored.
        secret.resetBytes(in: 0..<secret.count)
        XCTAssertEqual(secret, Data(count: 32))
    }

    /// Mirrors CallTest.kt: a full call, a rekey in each direction, media both ways.
    func testAFullCallRekeysInEachDirectionWithMediaBothWays() throws {
        let aliceStore = IdentityStore.memory(), bobStore = IdentityStore.memory()
        let a = try CallSession.initiate(identity: try IdentityKeyPair.generate(), uid: "alice", peer: ExpectedPeer(uid: "bob"))
        let b = try CallSession.respond(
            identity: try IdentityKeyPair.generate(), uid: "bob", commit: a.message, expected: ExpectedPeer(uid: "alice"))
        let reveal = try XCTUnwrap(try a.session.handle(message: b.message, store: aliceStore).reply)
        let confirm = try XCTUnwrap(try b.session.handle(message: reveal, store: bobStore).reply)
        XCTAssertNil(try a.session.handle(message: confirm, store: aliceStore).reply)
        let am = try a.session.takeMedia(), bm = try b.session.takeMedia()
        let sides = [(b.session, bobStore, bm, a.session, aliceStore, am), (a.session, aliceStore, am, b.session, bobStore, bm)]
        for (n, (offerer, oStore, oMedia, answerer, aStore, aMedia)) in sides.enumerated() {
            let offer = try offerer.rekey()
            XCTAssertTrue(offerer.rekeyPending())
            let answer = try answerer.handle(message: offer, store: aStore)
            try XCTUnwrap(answer.media).apply(media: aMedia)
            let done = try offerer.handle(message: try XCTUnwrap(answer.reply), store: oStore)
            try XCTUnwrap(done.media).apply(media: oMedia)
            let finished = try answerer.handle(message: try XCTUnwrap(done.reply), store: aStore)
            try XCTUnwrap(finished.media).apply(media: aMedia)
            let epoch = UInt64(n + 1)
            XCTAssertEqual(UInt64(a.session.epoch()), epoch)
            XCTAssertEqual(UInt64(b.session.epoch()), epoch)
            let toBob = try bm.receiver.decryptFrame(frame: try am.sender.encryptFrame(codec: "Opus", frame: Data([0x78, 1])))
            XCTAssertEqual(toBob.kid, (2 * epoch + 1) << 8)
            let toAlice = try am.receiver.decryptFrame(frame: try bm.sender.encryptFrame(codec: "generic", frame: Data([2])))
            XCTAssertEqual(toAlice.kid, (2 * epoch + 2) << 8)
        }
    }

    func testTheWrongPeerIsRefusedAndStrayMessagesIgnored() throws {
        let alice = try IdentityKeyPair.generate(), bob = try IdentityKeyPair.generate(), eve = try IdentityKeyPair.generate()
        let pinned = try CallSession.initiate(
            identity: alice, uid: "alice", peer: ExpectedPeer(uid: "bob", identity: bob.publicKey()))
        let forged = try CallSession.respond(identity: eve, uid: "bob", commit: pinned.message)
        XCTAssertThrowsError(try pinned.session.handle(message: forged.message, store: IdentityStore.memory())) { error in
            guard case CallsealError.WrongPeer = error else { return XCTFail("expected WrongPeer, got \(error)") }
        }
        XCTAssertEqual(pinned.session.state(), .failed)

        let store = IdentityStore.memory()
        let a = try CallSession.initiate(identity: alice, uid: "alice", peer: ExpectedPeer(uid: "bob"))
        let b = try CallSession.respond(identity: bob, uid: "bob", commit: a.message)
        let reveal = try XCTUnwrap(try a.session.handle(message: b.message, store: store).reply)
        _ = try b.session.handle(message: reveal, store: store)
        let stray = try b.session.handle(message: Data([2, 5, 0]), store: store)
        XCTAssertEqual(stray.ignored, "malformed")
        XCTAssertNil(stray.reply)
        XCTAssertEqual(try b.session.handle(message: a.message, store: store).ignored, "handshake")
        XCTAssertEqual(b.session.state(), .encrypted)
    }
}
