// Replays the committed conformance files (tests/conformance/) through the
// Swift API: every byte must match what the core wrote. Mirrors
// mobile/android/src/test/kotlin/org/callseal/ConformanceTest.kt.
import Callseal
import Foundation
import XCTest

final class ConformanceTests: XCTestCase {
    func testFramesReplayByteForByte() throws {
        let cases = try loadCases("frames.json")
        for c in cases {
            let name = c.str("name")
            let sender = try FrameSender.startingAt(
                suite: c.suite, kid: c.u64("kid"), baseKey: c.bytes("base_key"), counter: c.u64("counter"))
            let frame = try sender.encrypt(metadata: c.bytes("metadata"), payload: c.bytes("payload"))
            XCTAssertEqual(frame.hex, c.str("frame"), name)
            let receiver = FrameReceiver()
            try receiver.addKey(kid: c.u64("kid"), suite: c.suite, baseKey: c.bytes("base_key"))
            XCTAssertEqual(try receiver.decrypt(metadata: c.bytes("metadata"), frame: frame).hex, c.str("payload"), name)
        }
        XCTAssertEqual(Set(cases.map { $0.suite }).count, 8)
    }

    func testMediaReplayByteForByte() throws {
        let cases = try loadCases("media.json")
        for c in cases {
            let name = c.str("name")
            let sender = try MediaSender.startingAt(
                suite: c.suite, kid: c.u64("kid"), baseKey: c.bytes("base_key"), counter: c.u64("counter"))
            let protected = try sender.encryptFrame(codec: c.str("codec"), frame: c.bytes("frame"))
            XCTAssertEqual(protected.hex, c.str("protected"), name)
            let receiver = MediaReceiver()
            try receiver.addKey(kid: c.u64("kid"), suite: c.suite, baseKey: c.bytes("base_key"))
            let frame = try receiver.decryptFrame(frame: protected)
            XCTAssertEqual(frame.payload.hex, c.str("decrypted"), name)
            XCTAssertEqual(frame.codec, c.str("codec"), name)
            XCTAssertEqual(frame.kid, c.u64("kid"), name)
            XCTAssertEqual(frame.counter, c.u64("counter"), name)
        }
        XCTAssertEqual(Set(cases.map { $0.str("codec") }).count, 7)
    }

    func testErrorsReplayWithTheSameKinds() throws {
        for c in try loadCases("errors.json") {
            let before = c.list("before").map { Data(hex: $0 as! String) }
            var outcome: String? = nil
            do {
                switch c.str("operation") {
                case "frame-decrypt":
                    let r = FrameReceiver()
                    try r.addKey(kid: c.u64("kid"), suite: c.suite, baseKey: c.bytes("base_key"))
                    for f in before { _ = try r.decrypt(metadata: c.bytes("metadata"), frame: f) }
                    _ = try r.decrypt(metadata: c.bytes("metadata"), frame: c.bytes("input"))
                case "media-decrypt":
                    let r = MediaReceiver()
                    try r.addKey(kid: c.u64("kid"), suite: c.suite, baseKey: c.bytes("base_key"))
                    for f in before { _ = try r.decryptFrame(frame: f) }
                    _ = try r.decryptFrame(frame: c.bytes("input"))
                default:
                    XCTFail("unknown operation")
                }
            } catch let error as CallsealError {
                outcome = error.code()
            }
            XCTAssertEqual(outcome, c.str("error"), c.str("name"))
        }
    }

    #if CALLSEAL_CONFORMANCE
    /// calls.json version 2: the handshake, the security code, the first
    /// frames, then an in-call rekey and the first frames of epoch 1, byte
    /// for byte. Needs the conformance build (`build-xcframework.sh
    /// --conformance`, then `swift test -Xswiftc -DCALLSEAL_CONFORMANCE`):
    /// the shipping library has no fixed-randomness functions.
    func testCallsReplayHandshakeRekeyAndFrames() throws {
        let cases = try loadCases("calls.json", version: 2)
        for c in cases {
            let name = c.str("name")
            let i = c.obj("initiator"), r = c.obj("responder")
            let messages = c.list("messages").map { Data(hex: $0 as! String) }
            let config = CallConfig(suite: c.suite, allowShortTags: c.bool("allow_short_tags"))
            let iStore = IdentityStore.memory(), rStore = IdentityStore.memory()
            let iStart = try initiateCallScripted(
                identity: try IdentityKeyPair.fromBytes(secret: i.bytes("identity_secret")),
                uid: i.str("uid"), peer: ExpectedPeer(uid: r.str("uid")), config: config, entropy: i.bytes("entropy"))
            XCTAssertEqual(iStart.message, messages[0], name)
            let rStart = try respondToCallScripted(
                identity: try IdentityKeyPair.fromBytes(secret: r.bytes("identity_secret")),
                uid: r.str("uid"), commit: iStart.message, expected: nil, config: config, entropy: r.bytes("entropy"))
            XCTAssertEqual(rStart.message, messages[1], name)
            let ini = iStart.session, res = rStart.session
            let reveal = try XCTUnwrap(try ini.handle(message: rStart.message, store: iStore).reply)
            XCTAssertEqual(reveal, messages[2], name)
            let confirm = try XCTUnwrap(try res.handle(message: reveal, store: rStore).reply)
            XCTAssertEqual(confirm, messages[3], name)
            XCTAssertNil(try ini.handle(message: confirm, store: iStore).reply)

            XCTAssertEqual(ini.securityCode(), c.str("security_code"), name)
            XCTAssertEqual(res.securityCode(), c.str("security_code"), name)
            XCTAssertEqual(ini.peerUid(), r.str("uid"))
            XCTAssertEqual(res.peerUid(), i.str("uid"))
            let iMedia = try ini.takeMedia(), rMedia = try res.takeMedia()
            try checkFrames(name, c.obj("first_frames"), iMedia, rMedia)

            let rekey = c.obj("rekey")
            let rekeyMessages = rekey.list("messages").map { Data(hex: $0 as! String) }
            let initiatorOffers = rekey.str("offerer") == "initiator"
            let (offerer, oStore, oMedia) = initiatorOffers ? (ini, iStore, iMedia) : (res, rStore, rMedia)
            let (answerer, aStore, aMedia) = initiatorOffers ? (res, rStore, rMedia) : (ini, iStore, iMedia)
            let offer = try offerer.rekeyScripted(entropy: rekey.bytes("offerer_entropy"))
            XCTAssertEqual(offer, rekeyMessages[0], name)
            let answer = try answerer.handleScripted(message: offer, store: aStore, entropy: rekey.bytes("answerer_entropy"))
            XCTAssertEqual(answer.reply, rekeyMessages[1], name)
            try XCTUnwrap(answer.media).apply(media: aMedia)
            let done = try offerer.handle(message: try XCTUnwrap(answer.reply), store: oStore)
            XCTAssertEqual(done.reply, rekeyMessages[2], name)
            try XCTUnwrap(done.media).apply(media: oMedia)
            let finished = try answerer.handle(message: try XCTUnwrap(done.reply), store: aStore)
            XCTAssertNil(finished.reply, name)
            try XCTUnwrap(finished.media).apply(media: aMedia)
            let epoch = UInt32((rekey["epoch"] as! NSNumber).intValue)
            XCTAssertEqual(ini.epoch(), epoch, name)
            XCTAssertEqual(res.epoch(), epoch, name)
            try checkFrames(name, rekey.obj("frames"), iMedia, rMedia)
        }
        XCTAssertGreaterThanOrEqual(cases.count, 9)
    }

    /// Each side encrypts the payload to exactly the given frame; the other side decrypts it.
    private func checkFrames(_ name: String, _ frames: Case, _ iMedia: CallMedia, _ rMedia: CallMedia) throws {
        let payload = frames.bytes("payload")
        let iToR = try iMedia.sender.encryptFrame(codec: frames.str("codec"), frame: payload)
        let rToI = try rMedia.sender.encryptFrame(codec: frames.str("codec"), frame: payload)
        XCTAssertEqual(iToR.hex, frames.str("initiator_to_responder"), name)
        XCTAssertEqual(rToI.hex, frames.str("responder_to_initiator"), name)
        XCTAssertEqual(try rMedia.receiver.decryptFrame(frame: iToR).payload, payload, name)
        XCTAssertEqual(try iMedia.receiver.decryptFrame(frame: rToI).payload, payload, name)
    }

    /// `errorCodes()` is the core's list: `code()` of one error per case (the
    /// core computes it from the error handed back to Rust) gives it.
    func testEveryErrorKindHasItsSwiftCode() {
        let swiftCodes: [CallsealError] = [
            .Malformed("why"), .InvalidArgument("why"), .AuthenticationFailed("why"),
            .Replay("why"), .UnknownKeyId("why"), .KeyExhausted("why"),
            .ProtocolViolation("why"), .WrongPeer("why"), .PolicyForbids("why"),
            .FeatureUnavailable("why"), .Storage("why"), .Entropy("why"), .Internal("why"),
        ]
        XCTAssertEqual(swiftCodes.map { $0.code() }, errorCodes())
    }
    #endif
}
