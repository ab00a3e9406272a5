"""The tests' tenant admin: calls and meetings take verified policy
documents only, so the tests sign theirs with a key from a fixed seed and
verify them with its tenant key, as an app does (docs/POLICY.md, "Signed
policy documents")."""

import callseal

ADMIN = callseal.PolicySigningKey.from_bytes(bytes([7] * 32))
ISSUED_AT = 1_796_000_000


def verified_policy(document, serial: int = 1) -> callseal.VerifiedPolicy:
    """``document`` (a ``PolicyDocument`` or its JSON) signed by ``ADMIN``
    with ``serial`` and verified with its tenant key."""
    if isinstance(document, str):
        document = callseal.PolicyDocument.from_json(document)
    signed = ADMIN.sign(document, serial, ISSUED_AT)
    return callseal.VerifiedPolicy.verify(signed, ADMIN.tenant_key(), 0)
