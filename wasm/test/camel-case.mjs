// Every object callseal returns to JavaScript has camelCase keys, at every
// depth (docs/BINDINGS.md): the Node and browser tests check each returned
// object with this helper.
import assert from 'node:assert/strict';

const CAMEL = /^[a-z][a-zA-Z0-9]*$/;

/**
 * Asserts that every key of `value`, of the plain objects and arrays in it
 * at any depth, is camelCase. Class instances (a `CallSession`, a
 * `MediaSender`) and typed arrays are leaves: their methods are named by
 * wasm-bindgen from the Rust `js_name`s. Returns how many keys it checked,
 * so that a test can tell it looked at something.
 */
export function assertCamelCase(value, path = 'value') {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) {
    return 0;
  }
  if (Array.isArray(value)) {
    return value.reduce((n, item, i) => n + assertCamelCase(item, `${path}[${i}]`), 0);
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) {
    return 0;
  }
  let checked = 0;
  for (const [key, item] of Object.entries(value)) {
    assert.match(key, CAMEL, `${path}.${key} is not camelCase`);
    checked += 1 + assertCamelCase(item, `${path}.${key}`);
  }
  return checked;
}
