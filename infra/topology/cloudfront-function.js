// Runs CloudFront Functions (cloudfront-js-2.0) for the local CDN front: one JSON line in
// ({code, event}), one JSON line out ({result} or {error}). Each distinct code is compiled once.
'use strict';
const vm = require('vm');
const readline = require('readline');
const compiled = new Map();
function handlerOf(code) {
  if (!compiled.has(code)) {
    const context = vm.createContext({});
    vm.runInContext(code + '\n;globalThis.__handler = handler;', context, { timeout: 1000 });
    compiled.set(code, context.__handler);
  }
  return compiled.get(code);
}
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let out;
  try {
    const { code, event } = JSON.parse(line);
    out = { result: handlerOf(code)(event) };
  } catch (e) {
    out = { error: String(e && e.stack || e) };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
});
