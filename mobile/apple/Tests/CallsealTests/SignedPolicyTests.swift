// Signed policy documents and downgrades through the Swift API, and the
// replay of tests/conformance/policy-signed.json (shipping library: no
// conformance build needed). Mirrors SignedPolicyTest.kt in
// mobile/android/src/test. Not compiled on this project's machines (no
// Swift compiler): build and run on a Mac with `swift test`.
import Callseal
import Foundation
import XCTest

final class SignedPolicyTests: XCTestCase {
    let document = """
        {"version": 1,
         "policies": [{"Identity": "Global",
                       "CallingEndtoEndEncryptionEnabledType": "DisabledUserOverride",
                       "MeetingEndToEndEncryption": "DisabledUserOverride",
                       "Description": ""}],
         "users": {"alice": {"e2ee_calls": true}, "bob": {"e2ee_calls": true}}}
        """

    /// The error's code (the one place this file reads it).
    func codeOf(_ error: Error) -> String? { (error as? CallsealError)?.code() }

    func sign(_ serial: UInt64) throws -> Data {
        try testAdmin().sign(document: try PolicyDocument.fromJson(json: document), serial: serial,
                             issuedAt: 1_796_000_000)
    }

    func testASignedDocumentVerifiesWithTheTenantKey() throws {
        let admin = try testAdmin()
        let verified = try VerifiedPolicy.verify(signed: try sign(4), tenantKey: admin.tenantKey(), lastSeenSerial: 0)
        XCTAssertEqual(verified.serial(), 4)
        XCTAssertEqual(verified.issuedAt(), 1_796_000_000)
        XCTAssertEqual(verified.document().toJson(), try PolicyDocument.fromJson(json: document).toJson())
        XCTAssertTrue(verified.evaluateCall(caller: "alice", callee: "bob").e2ee)
        XCTAssertEqual(try PolicySigningKey.fromBytes(seed: admin.toBytes()).tenantKey(), admin.tenantKey())
        XCTAssertThrowsError(try PolicySigningKey.fromBytes(seed: Data(count: 31))) { error in
            XCTAssertEqual(self.codeOf(error), "invalid-argument")
        }
    }

    func testRefusalsAreTyped() throws {
        let admin = try testAdmin()
        var tampered = Array(try sign(2))
        let at = tampered.count - 5 // the signature's last hex digit
        tampered[at] = tampered[at] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        XCTAssertThrowsError(try VerifiedPolicy.verify(signed: Data(tampered), tenantKey: admin.tenantKey(),
                                                       lastSeenSerial: 0)) { error in
            XCTAssertEqual(self.codeOf(error), "authentication-failed")
        }
        let other = try PolicySigningKey.fromBytes(seed: Data(repeating: 8, count: 32))
        XCTAssertThrowsError(try VerifiedPolicy.verify(signed: try sign(2), tenantKey: other.tenantKey(),
                                                       lastSeenSerial: 0)) { error in
            XCTAssertEqual(self.codeOf(error), "wrong-peer")
        }
        XCTAssertThrowsError(try VerifiedPolicy.verify(signed: try sign(3), tenantKey: admin.tenantKey(),
                                                       lastSeenSerial: 4)) { error in
            XCTAssertEqual(self.codeOf(error), "replay")
        }
        let member = "\n  \"format\": \"callseal-signed-policy/1\","
        let signed = String(decoding: try sign(2), as: UTF8.self)
        let doubled = signed.replacingOccurrences(of: member, with: member + member)
        XCTAssertThrowsError(try VerifiedPolicy.verify(signed: Data(doubled.utf8), tenantKey: admin.tenantKey(),
                                                       lastSeenSerial: 0)) { error in
            XCTAssertEqual(self.codeOf(error), "malformed")
        }
    }

    func testDowngrades() throws {
        let plain = PolicyDocument().evaluateCall(caller: "alice", callee: "bob")
        XCTAssertEqual(try callMode(decision: plain, requireE2ee: false), .notEndToEnd(reason: "policy-disabled"))
        XCTAssertThrowsError(try callMode(decision: plain, requireE2ee: true)) { error in
            XCTAssertEqual(self.codeOf(error), "policy-forbids")
        }
        XCTAssertEqual(try acceptPlainCall(decision: plain, requireE2ee: false), "policy-disabled")
        let e2ee = try verifiedPolicy(document).evaluateCall(caller: "bob", callee: "alice")
        XCTAssertEqual(try callMode(decision: e2ee, requireE2ee: true), .endToEnd)
        XCTAssertThrowsError(try acceptPlainCall(decision: e2ee, requireE2ee: false)) { error in
            XCTAssertEqual(self.codeOf(error), "protocol-violation")
        }
    }

    func testSignedPoliciesReplayTheConformanceFile() throws {
        var outcomes = Set<String>()
        for c in try loadCases("policy-signed.json") {
            let name = c.str("name")
            let lastSeen = UInt64((c["last_seen_serial"] as! NSNumber).uint64Value)
            do {
                let verified = try VerifiedPolicy.verify(signed: Data(c.str("signed").utf8),
                                                         tenantKey: c.bytes("tenant_key"), lastSeenSerial: lastSeen)
                XCTAssertNil(c["error"], name)
                let want = c.obj("accepted")
                XCTAssertEqual(verified.serial(), (want["serial"] as! NSNumber).uint64Value, name)
                XCTAssertEqual(verified.issuedAt(), (want["issued_at"] as! NSNumber).uint64Value, name)
                XCTAssertEqual(verified.document().toJson(), want.str("document"), name)
                let decision = verified.evaluateCall(caller: "alice", callee: "bob")
                XCTAssertEqual(decision.e2ee, want.bool("call_e2ee"), name)
                XCTAssertEqual(decision.reason, want.str("call_reason"), name)
                outcomes.insert("accepted")
            } catch {
                XCTAssertEqual(codeOf(error), c["error"] as? String, name)
                outcomes.insert(codeOf(error) ?? "?")
            }
        }
        XCTAssertEqual(outcomes, ["accepted", "replay", "wrong-peer", "authentication-failed", "malformed"])
    }
}
