// The stable error code of what `fn` throws, for the Node tests: it must
// throw a CallsealError (an Error with that name and a message).
import assert from 'node:assert/strict';

import { CallsealError } from '../pkg/node.js';

export function errorCode(fn) {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CallsealError, `not a CallsealError: ${err}`);
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'CallsealError');
    assert.ok(err.message.length > 0);
    return err.code;
  }
  assert.fail('no error thrown');
}
