// Policy decisions, feature gating and meetings through the Swift API.
// Mirrors PolicyTest.kt and MeetingTest.kt in mobile/android/src/test.
// Not compiled on this project's machines (no Swift compiler): build and
// run on a Mac with `swift test` (see mobile/apple/README.md).
import Callseal
import Foundation
import XCTest

final class PolicyAndMeetingTests: XCTestCase {
    let document = """
        {"version": 1,
         "policies": [{"Identity": "Global",
                       "CallingEndtoEndEncryptionEnabledType": "DisabledUserOverride",
                       "MeetingEndToEndEncryption": "DisabledUserOverride",
                       "Description": ""}],
         "users": {"alice": {"e2ee_calls": true}, "bob": {"e2ee_calls": true},
                   "rec": {"e2ee_calls": true, "compliance_recording": true}}}
        """

    func testCallDecisionsFollowThePolicyAndAreSymmetric() throws {
        let policy = try PolicyDocument.fromJson(json: document)
        let ok = policy.evaluateCall(caller: "alice", callee: "bob")
        XCTAssertTrue(ok.e2ee)
        XCTAssertEqual(ok.reason, "ok")
        XCTAssertEqual(ok.unavailableFeatures.count, 9)
        XCTAssertEqual(policy.evaluateCall(caller: "alice", callee: "carol").reason, "user-setting-off")
        XCTAssertEqual(policy.evaluateCall(caller: "rec", callee: "alice"),
                       policy.evaluateCall(caller: "alice", callee: "rec"))
    }

    func testGatedFeaturesAreTypedErrors() throws {
        XCTAssertThrowsError(try checkCallFeature(e2ee: true, feature: "recording")) { error in
            guard case CallsealError.FeatureUnavailable = error else { return XCTFail("\(error)") }
        }
        XCTAssertNoThrow(try checkCallFeature(e2ee: true, feature: "chat"))
        XCTAssertThrowsError(try checkMeetingFeature(e2ee: true, feature: "breakout-rooms"))
    }

    func testMembersShareCodesAndMedia() throws {
        let policy = try PolicyDocument.fromJson(json: document)
        let organizer = try MeetingSession.create(
            client: try MeetingClient(user: "olga", platform: "desktop-mac"),
            policy: policy, suiteId: 4, nowMs: 0)
        let peteClient = try MeetingClient(user: "pete", platform: "ios")
        let added = try organizer.add(keyPackage: try peteClient.keyPackage())
        _ = try organizer.commitAccepted(nowMs: 0)
        let pete = try MeetingSession.join(client: peteClient, welcome: added.welcome!, policy: policy, nowMs: 0)
        XCTAssertEqual(try organizer.code(), try pete.code())
        let frame = try organizer.encrypt(codecName: "Opus", frame: Data([0x78, 1, 2]))
        XCTAssertEqual(try pete.decrypt(frame: frame, nowMs: 1).frame?.payload, Data([0x78, 1, 2]))
        XCTAssertThrowsError(try organizer.add(keyPackage: try MeetingClient(user: "walt", platform: "web").keyPackage())) { error in
            guard case CallsealError.PolicyForbids = error else { return XCTFail("\(error)") }
        }
    }
}
