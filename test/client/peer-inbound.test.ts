/** The hand-written `msg` validator accepts and rejects exactly what the generic declaration does. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fastMsg, lenientMsg } from '../../src/client/peer/inbound.ts';
import { MAX_FRAME_BYTES } from '../../src/net/constants.ts';
import { SchemaError } from '../../src/net/schema.ts';

function outcome(validate: (v: unknown) => unknown, value: unknown): unknown {
  try {
    return { ok: validate(value) };
  } catch (err) {
    assert.ok(err instanceof SchemaError, String(err));
    return { field: err.path };
  }
}

const ts = 1_764_000_000_000;
const cases: Array<[string, unknown]> = [
  ['valid', { t: 'msg', id: 1, text: 'hi', ts }],
  ['extra fields are dropped', { t: 'msg', id: 7, text: 'hi', ts, extra: { deep: true } }],
  ['largest id', { t: 'msg', id: Number.MAX_SAFE_INTEGER, text: 'x', ts: 0 }],
  ['id 0', { t: 'msg', id: 0, text: 'hi', ts }],
  ['fractional id', { t: 'msg', id: 1.5, text: 'hi', ts }],
  ['id beyond safe', { t: 'msg', id: 2 ** 53, text: 'hi', ts }],
  ['id as text', { t: 'msg', id: '1', text: 'hi', ts }],
  ['no id', { t: 'msg', text: 'hi', ts }],
  ['empty text', { t: 'msg', id: 1, text: '', ts }],
  ['text not a string', { t: 'msg', id: 1, text: ['hi'], ts }],
  ['text at the frame limit', { t: 'msg', id: 1, text: 'a'.repeat(MAX_FRAME_BYTES), ts }],
  ['text over the frame limit', { t: 'msg', id: 1, text: 'a'.repeat(MAX_FRAME_BYTES + 1), ts }],
  ['multibyte text over the limit in bytes', { t: 'msg', id: 1, text: '€'.repeat(MAX_FRAME_BYTES / 2), ts }],
  ['negative ts', { t: 'msg', id: 1, text: 'hi', ts: -1 }],
  ['no ts', { t: 'msg', id: 1, text: 'hi' }],
  ['wrong tag', { t: 'ack', id: 1, text: 'hi', ts }],
  ['null', null],
  ['array', [1, 2]],
  ['string', 'msg'],
  ['inherited fields do not count', Object.assign(Object.create({ id: 1, text: 'hi', ts }), { t: 'msg' })],
];

for (const [name, value] of cases) {
  test(`msg validator: ${name}`, () => {
    assert.deepEqual(outcome(fastMsg, value), outcome(lenientMsg, value));
  });
}

test('msg validator: agrees with the generic one on random input', () => {
  const field = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.string(),
    fc.constant(undefined),
    fc.constant(null),
    fc.boolean(),
  );
  fc.assert(
    fc.property(
      fc.record(
        { t: fc.oneof(fc.constant('msg'), fc.string()), id: field, text: field, ts: field },
        { requiredKeys: [] },
      ),
      (value) => {
        assert.deepEqual(outcome(fastMsg, value), outcome(lenientMsg, value));
      },
    ),
    { numRuns: 2_000 },
  );
});
