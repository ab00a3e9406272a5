// Policy decisions, feature gating and meetings (co-organizers,
// self-updates, the roster's identity statuses) through the Swift API.
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
        let policy = try verifiedPolicy(document)
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

    func testCoOrganizersAddMembersAndParticipantsCannot() throws {
        let policy = try verifiedPolicy(document)
        let olga = try MeetingSession.create(
            client: try MeetingClient(user: "olga", platform: "desktop-mac"),
            policy: policy, suiteId: 4, nowMs: 0)
        // One commit and one Welcome for two joiners; the policy refuses the third.
        let peteClient = try MeetingClient(user: "pete", platform: "android")
        let quinnClient = try MeetingClient(user: "quinn", platform: "ios")
        let batch = try olga.changeMembership(
            keyPackages: [try peteClient.keyPackage(), try quinnClient.keyPackage(),
                          try MeetingClient(user: "walt", platform: "web").keyPackage()],
            remove: [])
        XCTAssertEqual(batch.refused.map { "\($0.user) \($0.reason)" }, ["walt unsupported-platform"])
        _ = try olga.commitAccepted(nowMs: 0)
        let pete = try MeetingSession.join(client: peteClient, welcome: batch.messages.welcome!, policy: policy, nowMs: 0)
        let quinn = try MeetingSession.join(client: quinnClient, welcome: batch.messages.welcome!, policy: policy, nowMs: 0)
        var everyone = [olga, pete, quinn]
        // Roles go to one device: its leaf index, as members() shows it.
        let peteIndex = try olga.members().first { $0.user == "pete" }!.index
        let quinnIndex = try olga.members().first { $0.user == "quinn" }!.index

        // The organizer promotes Pete; every member sees the new roles.
        let promotion = try olga.promote(index: peteIndex)
        XCTAssertTrue(try olga.commitAccepted(nowMs: 1).rolesChanged)
        for session in [pete, quinn] {
            let changes = try session.handleCommit(commit: promotion.commit, nowMs: 1)
            XCTAssertEqual(changes.count, 1)
            XCTAssertTrue(changes[0].rolesChanged)
            XCTAssertEqual(changes[0].committer, 0)
        }
        XCTAssertEqual(try pete.role(), .coOrganizer)
        XCTAssertEqual(try quinn.role(), .participant)
        XCTAssertEqual(try quinn.organizer(), 0)
        XCTAssertEqual(try quinn.members().map { $0.role }, [.organizer, .coOrganizer, .participant])
        XCTAssertEqual(try quinn.members()[1].signatureKey, peteClient.signatureKey())

        // The co-organizer adds Rita; everyone accepts its commit and its Welcome.
        let ritaClient = try MeetingClient(user: "rita", platform: "desktop-windows")
        let added = try pete.add(keyPackage: try ritaClient.keyPackage())
        _ = try pete.commitAccepted(nowMs: 2)
        _ = try olga.handleCommit(commit: added.commit, nowMs: 2)
        _ = try quinn.handleCommit(commit: added.commit, nowMs: 2)
        everyone.append(try MeetingSession.join(client: ritaClient, welcome: added.welcome!, policy: policy, nowMs: 2))
        XCTAssertEqual(Set(try everyone.map { try $0.code() }).count, 1)
        XCTAssertEqual(try olga.members().map { $0.user }, ["olga", "pete", "quinn", "rita"])

        // A participant's add, and a co-organizer's roles change, are refused.
        XCTAssertThrowsError(try quinn.add(keyPackage: try MeetingClient(user: "sam", platform: "ios").keyPackage())) { error in
            guard case CallsealError.ProtocolViolation = error else { return XCTFail("\(error)") }
            XCTAssertEqual((error as? CallsealError)?.code(), "protocol-violation")
        }
        XCTAssertThrowsError(try pete.promote(index: quinnIndex)) { error in
            guard case CallsealError.ProtocolViolation = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try olga.handOver(index: quinnIndex)) { error in  // not a co-organizer
            guard case CallsealError.ProtocolViolation = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try olga.promote(index: 99)) { error in
            guard case CallsealError.InvalidArgument = error else { return XCTFail("\(error)") }
        }

        // Quinn, a participant, updates its own leaf when due.
        XCTAssertFalse(try quinn.updateDue(nowMs: 2))
        XCTAssertTrue(try quinn.updateDue(nowMs: 3_600_000))  // an hour: past the 15 minutes and any per-member spread
        let index = try quinn.members().first { $0.user == "quinn" }!.index
        let leafBefore = try olga.leafKey(index: index)
        let update = try quinn.selfUpdate()
        XCTAssertTrue(try quinn.commitAccepted(nowMs: 3).selfUpdate)
        for session in everyone where session !== quinn {
            let changes = try session.handleCommit(commit: update.commit, nowMs: 3)
            XCTAssertTrue(changes[0].selfUpdate)
            XCTAssertEqual(changes[0].committer, index)
        }
        XCTAssertNotEqual(try olga.leafKey(index: index), leafBefore)
        XCTAssertEqual(Set(try everyone.map { try $0.code() }).count, 1)
        XCTAssertNil(try quinn.missingCommitsFrom())

        // The organizer hands over to Pete.
        let handOver = try olga.handOver(index: peteIndex)
        XCTAssertTrue(try olga.commitAccepted(nowMs: 4).organizerChanged)
        for session in everyone where session !== olga {
            XCTAssertTrue(try session.handleCommit(commit: handOver.commit, nowMs: 4)[0].organizerChanged)
        }
        XCTAssertEqual(try pete.role(), .organizer)
        XCTAssertEqual(try olga.role(), .coOrganizer)
        let frame = try pete.encrypt(codecName: "Opus", frame: Data([0x78, 1, 2]))
        XCTAssertEqual(try quinn.decrypt(frame: frame, nowMs: 5).frame?.payload, Data([0x78, 1, 2]))
    }

    func testTheRosterShowsIdentityStatuses() throws {
        let policy = try verifiedPolicy(document)
        let olgaClient = try MeetingClient(user: "olga", platform: "desktop-mac")
        let bobLaptop = try MeetingClient(user: "bob", platform: "desktop-mac")
        let store = MemberKeyStore()
        let olga = try MeetingSession.create(client: olgaClient, policy: policy, suiteId: 4, nowMs: 0)
        let added = try olga.add(keyPackage: try bobLaptop.keyPackage())
        _ = try olga.commitAccepted(nowMs: 0)
        _ = try MeetingSession.join(client: bobLaptop, welcome: added.welcome!, policy: policy, nowMs: 0)

        func status(_ roster: [RosterEntry], _ platform: String) -> IdentityStatus? {
            roster.first { $0.member.user == "bob" && $0.member.platform == platform }?.status
        }

        XCTAssertEqual(status(try olga.roster(), "desktop-mac"), .unchecked)
        let roster = try olga.checkIdentities(store: store)
        XCTAssertEqual(status(roster, "desktop-mac"), .new)
        XCTAssertEqual(roster.first { $0.member.user == "olga" }?.status, .knownVerified)
        // The users compare the meeting code the app shows.
        XCTAssertThrowsError(try olga.markCodeVerified(store: store, code: "1234")) { error in
            guard case CallsealError.InvalidArgument = error else { return XCTFail("\(error)") }
        }
        try olga.markCodeVerified(store: store, code: try olga.code())
        XCTAssertEqual(status(try olga.roster(), "desktop-mac"), .knownVerified)

        // The app persists the store; the next meeting knows Bob's laptop.
        let saved = try MemberKeyStore.fromJson(json: try store.toJson())
        XCTAssertEqual(try saved.toJson(), try store.toJson())
        let next = try MeetingSession.create(client: olgaClient, policy: policy, suiteId: 4, nowMs: 10)
        _ = try next.add(keyPackage: try bobLaptop.keyPackage())
        _ = try next.commitAccepted(nowMs: 10)
        XCTAssertEqual(status(try next.checkIdentities(store: saved), "desktop-mac"), .knownVerified)
        // A second device of Bob's (or one the server slipped in) is flagged.
        let codeBefore = try next.code()
        let bobPhone = try MeetingClient(user: "bob", platform: "android")
        _ = try next.add(keyPackage: try bobPhone.keyPackage())
        _ = try next.commitAccepted(nowMs: 11)
        let flagged = try next.checkIdentities(store: saved)
        XCTAssertEqual(status(flagged, "android"), .changed)
        XCTAssertEqual(status(flagged, "desktop-mac"), .knownVerified)
        XCTAssertEqual(flagged.first { $0.member.platform == "android" }?.member.signatureKey, bobPhone.signatureKey())
        XCTAssertNotEqual(try saved.toJson(), try store.toJson())
        // A code from before the commit is refused: the users compared another roster.
        XCTAssertThrowsError(try next.markCodeVerified(store: saved, code: codeBefore)) { error in
            guard case CallsealError.InvalidArgument = error else { return XCTFail("\(error)") }
            XCTAssertEqual((error as? CallsealError)?.code(), "invalid-argument")
        }
        // Equal codes show everyone sees the same roster, not who holds the
        // phone's key: comparing them leaves it flagged.
        try next.markCodeVerified(store: saved, code: try next.code())
        XCTAssertEqual(status(try next.roster(), "android"), .changed)
        XCTAssertEqual(status(try next.roster(), "desktop-mac"), .knownVerified)
        // Bob confirms his phone out of band: that device becomes verified.
        let ghost = try next.roster().first { $0.member.platform == "android" }!.member.index
        XCTAssertThrowsError(try next.verifyMember(store: saved, index: 99)) { error in
            guard case CallsealError.InvalidArgument = error else { return XCTFail("\(error)") }
        }
        try next.verifyMember(store: saved, index: ghost)
        XCTAssertTrue(try next.roster().allSatisfy { $0.status == .knownVerified })

        XCTAssertThrowsError(try MemberKeyStore.fromJson(json: "[")) { error in
            guard case CallsealError.Storage = error else { return XCTFail("\(error)") }
        }
    }
}
