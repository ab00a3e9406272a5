// The tests' tenant admin: calls and meetings take verified policy
// documents only, so the tests sign theirs with a key from a fixed seed and
// verify them with its tenant key, as an app does. Mirrors PolicySigning.kt.
import Callseal
import Foundation

/// The tests' policy signing key (a fixed seed: the same key every run).
func testAdmin() throws -> PolicySigningKey {
    try PolicySigningKey.fromBytes(seed: Data(repeating: 7, count: 32))
}

/// The policy document `json`, signed by `testAdmin()` with `serial` and
/// verified with its tenant key.
func verifiedPolicy(_ json: String, serial: UInt64 = 1) throws -> VerifiedPolicy {
    let admin = try testAdmin()
    let signed = try admin.sign(document: try PolicyDocument.fromJson(json: json), serial: serial,
                                issuedAt: 1_796_000_000)
    return try VerifiedPolicy.verify(signed: signed, tenantKey: admin.tenantKey(), lastSeenSerial: 0)
}
