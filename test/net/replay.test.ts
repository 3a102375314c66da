/** The anti-replay window (PROTOCOL.md section 5.3), against a simple model. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { REPLAY_WINDOW_PACKETS } from '../../src/net/constants.ts';
import { ReplayWindow } from '../../src/net/replay.ts';

test('fresh numbers are accepted once', () => {
  const w = new ReplayWindow();
  assert.equal(w.latest, 0);
  assert.equal(w.commit(1), true);
  assert.equal(w.commit(1), false);
  assert.equal(w.commit(3), true);
  assert.equal(w.commit(2), true, 'late but inside the window');
  assert.equal(w.commit(2), false);
  assert.equal(w.latest, 3);
});

test('accepts() does not record anything', () => {
  const w = new ReplayWindow();
  assert.equal(w.accepts(5), true);
  assert.equal(w.accepts(5), true);
  assert.equal(w.latest, 0);
});

test('numbers that fell out of the window are refused', () => {
  const w = new ReplayWindow();
  const top = REPLAY_WINDOW_PACKETS + 100;
  assert.equal(w.commit(top), true);
  assert.equal(w.accepts(top - REPLAY_WINDOW_PACKETS), false, 'exactly one window behind');
  assert.equal(w.accepts(top - REPLAY_WINDOW_PACKETS + 1), true, 'just inside');
  assert.equal(w.accepts(1), false);
});

test('a jump of more than a window forgets the old bits', () => {
  const w = new ReplayWindow(32);
  for (let s = 1; s <= 32; s++) assert.equal(w.commit(s), true);
  assert.equal(w.commit(1000), true);
  for (let s = 969; s < 1000; s++) assert.equal(w.accepts(s), true, `seq ${s}`);
  assert.equal(w.accepts(968), false);
});

test('zero, negatives, fractions and unsafe integers are refused', () => {
  const w = new ReplayWindow();
  for (const seq of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
    assert.equal(w.accepts(seq), false, String(seq));
    assert.equal(w.commit(seq), false, String(seq));
  }
  assert.equal(w.commit(Number.MAX_SAFE_INTEGER), true);
});

test('the window size must be a multiple of 32', () => {
  assert.throws(() => new ReplayWindow(33), RangeError);
});

test('property: behaves like "accept if new and not older than the window"', () => {
  for (const size of [32, 64, REPLAY_WINDOW_PACKETS]) {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -2, max: 3 * size }), { maxLength: 400 }), (seqs) => {
        const w = new ReplayWindow(size);
        const seen = new Set<number>();
        let highest = 0;
        for (const seq of seqs) {
          const expected = seq > 0 && !seen.has(seq) && seq > highest - size;
          assert.equal(w.accepts(seq), expected, `accepts(${seq})`);
          assert.equal(w.commit(seq), expected, `commit(${seq})`);
          if (expected) {
            seen.add(seq);
            highest = Math.max(highest, seq);
          }
          assert.equal(w.latest, highest);
        }
      }),
      { numRuns: 200 },
    );
  }
});
