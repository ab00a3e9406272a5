// The tests' tenant admin: calls and meetings take verified policy
// documents only, so the tests sign theirs with a key from a fixed seed and
// verify them with its tenant key, as an app does (docs/POLICY.md, "Signed
// policy documents").
package org.callseal

/** The tests' policy signing key (a fixed seed: the same key every run). */
val testAdmin: PolicySigningKey by lazy { PolicySigningKey.fromBytes(ByteArray(32) { 7 }) }

/** [document] signed by [testAdmin] with [serial] and verified with its tenant key. */
fun verifiedPolicy(document: PolicyDocument, serial: ULong = 1uL): VerifiedPolicy {
    val signed = testAdmin.sign(document, serial, 1_796_000_000uL)
    return VerifiedPolicy.verify(signed, testAdmin.tenantKey(), 0uL)
}

/** The policy document [json], signed and verified as [verifiedPolicy] does. */
fun verifiedPolicy(json: String, serial: ULong = 1uL): VerifiedPolicy =
    PolicyDocument.fromJson(json).use { verifiedPolicy(it, serial) }
