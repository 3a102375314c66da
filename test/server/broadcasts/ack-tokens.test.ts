import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AckTokens, writeTokenHex } from '../../../src/server/broadcasts/ack-tokens.ts';
import { tokenText } from '../../helpers/ack-token.ts';

test('ack tokens: drawn fresh each time, across pool refills', () => {
  const tokens = new AckTokens();
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    tokens.next();
    seen.add(tokenText(tokens.hi, tokens.lo));
  }
  assert.equal(seen.size, 5000);
});

test('ack tokens: written in place as the same 16 hex digits tokenText gives', () => {
  const payload = Buffer.from('{"t":"bcast","k":"0000000000000000","b":{}}');
  const at = payload.indexOf('"k":"') + 5;
  for (const [hi, lo] of [
    [0, 0],
    [0xffffffff, 0xffffffff],
    [0x01234567, 0x89abcdef],
  ] as const) {
    writeTokenHex(payload, at, hi, lo);
    assert.equal((JSON.parse(payload.toString()) as { k: string }).k, tokenText(hi, lo));
  }
  assert.equal(payload.toString(), '{"t":"bcast","k":"0123456789abcdef","b":{}}');
});
