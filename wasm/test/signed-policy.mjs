// Signed policy documents for the Node tests, signed with Node's own
// Ed25519 (node:crypto), not the package: an independent signer, following
// docs/POLICY.md "Signed policy documents" byte for byte.
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';

// PKCS #8 prefix of an Ed25519 private key (RFC 8410), then the 32-byte seed.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const admin = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, Buffer.alloc(32, 0x5a)]), format: 'der', type: 'pkcs8' });

/** The tenant key (32 bytes) of the tests' admin. */
export const tenantKey = new Uint8Array(Buffer.from(createPublicKey(admin).export({ format: 'jwk' }).x, 'base64url'));

/** `documentJson` (a policy document) signed by the tests' admin. */
export function signPolicy(documentJson, serial = 1, issuedAt = 1796169600) {
  const payload = Buffer.from(`{"version":1,"serial":${serial},"issued_at":${issuedAt},"document":${documentJson}}`);
  const signature = sign(null, Buffer.concat([Buffer.from('callseal/policy/1\0'), payload]), admin);
  const text =
    '{\n' +
    '  "format": "callseal-signed-policy/1",\n' +
    `  "signer": "${Buffer.from(tenantKey).toString('hex')}",\n` +
    `  "payload": "${payload.toString('base64')}",\n` +
    `  "signature": "${signature.toString('hex')}"\n` +
    '}\n';
  return new TextEncoder().encode(text);
}

/** A `VerifiedPolicy` of `api` (a package entry) for `documentJson`. */
export function verifiedPolicy(api, documentJson, serial = 1) {
  return api.VerifiedPolicy.verify(signPolicy(documentJson, serial), tenantKey, 0);
}
