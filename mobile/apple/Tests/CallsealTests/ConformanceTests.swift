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
                outcome = error.code
            }
            XCTAssertEqual(outcome, c.str("error"), c.str("name"))
        }
    }

    func testCallsReplayMessagesCodesAndFirstFrames() throws {
        let cases = try loadCases("calls.json")
        for c in cases {
            let name = c.str("name")
            let i = c.obj("initiator"), r = c.obj("responder")
            let messages = c.list("messages").map { Data(hex: $0 as! String) }
            let iStore = IdentityStore.memory(), rStore = IdentityStore.memory()
            let iStart = try CallSession.initiateScripted(
                identity: try IdentityKeyPair.fromBytes(secret: i.bytes("identity_secret")),
                uid: i.str("uid"), suite: c.suite, entropy: i.bytes("entropy"))
            XCTAssertEqual(iStart.message, messages[0], name)
            let rStart = try CallSession.respondScripted(
                identity: try IdentityKeyPair.fromBytes(secret: r.bytes("identity_secret")),
                uid: r.str("uid"), commit: iStart.message, entropy: r.bytes("entropy"))
            XCTAssertEqual(rStart.message, messages[1], name)
            let reveal = try XCTUnwrap(try iStart.session.handle(message: rStart.message, store: iStore))
            XCTAssertEqual(reveal, messages[2], name)
            let confirm = try XCTUnwrap(try rStart.session.handle(message: reveal, store: rStore))
            XCTAssertEqual(confirm, messages[3], name)
            XCTAssertNil(try iStart.session.handle(message: confirm, store: iStore))

            XCTAssertEqual(iStart.session.securityCode(), c.str("security_code"), name)
            XCTAssertEqual(rStart.session.securityCode(), c.str("security_code"), name)
            XCTAssertEqual(iStart.session.peerUid(), r.str("uid"))
            XCTAssertEqual(rStart.session.peerUid(), i.str("uid"))

            let first = c.obj("first_frames")
            let payload = first.bytes("payload")
            let iMedia = try iStart.session.takeMedia(), rMedia = try rStart.session.takeMedia()
            let iToR = try iMedia.sender.encryptFrame(codec: first.str("codec"), frame: payload)
            let rToI = try rMedia.sender.encryptFrame(codec: first.str("codec"), frame: payload)
            XCTAssertEqual(iToR.hex, first.str("initiator_to_responder"), name)
            XCTAssertEqual(rToI.hex, first.str("responder_to_initiator"), name)
            XCTAssertEqual(try rMedia.receiver.decryptFrame(frame: iToR).payload, payload)
            XCTAssertEqual(try iMedia.receiver.decryptFrame(frame: rToI).payload, payload)
        }
        XCTAssertGreaterThanOrEqual(cases.count, 8)
    }
}
