// `require('callseal')` in Node: the package is an ES module (node.js).
// Node 20.19+ and 22.12+ load it through require(); older versions cannot,
// and get a message that names the import to use instead.
'use strict';

try {
  module.exports = require('./node.js');
} catch (err) {
  if (err && (err.code === 'ERR_REQUIRE_ESM' || err.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
    throw new Error(
      "callseal is an ES module: use `import { FrameSender } from 'callseal'` " +
        "(or `const callseal = await import('callseal')`); require('callseal') needs Node 20.19+ or 22.12+",
      { cause: err },
    );
  }
  throw err;
}
