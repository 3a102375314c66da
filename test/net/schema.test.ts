/** The validator combinators behind every message schema (src/net/schema.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arr, bool, int, lit, obj, oneOf, opt, SchemaError, str } from '../../src/net/schema.ts';

function rejects(fn: () => unknown, path: string, reason: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SchemaError, String(err));
    assert.equal(err.path, path);
    assert.match(err.message, reason);
    return true;
  });
}

test('str: type, minimum length, UTF-8 byte limit, pattern', () => {
  const name = str({ min: 1, maxBytes: 4, pattern: /^[a-zé]+$/ });
  assert.equal(name('abcd'), 'abcd');
  assert.equal(name('éé'), 'éé', 'four bytes');
  rejects(() => name('ééa', 'user'), 'user', /longer than 4 bytes/);
  rejects(() => name('abcde', 'user'), 'user', /longer than 4 bytes/);
  rejects(() => name('', 'user'), 'user', /shorter than 1/);
  rejects(() => name('AB', 'user'), 'user', /not allowed/);
  rejects(() => name(12, 'user'), 'user', /expected a string/);
  rejects(() => name(null, 'user'), 'user', /expected a string/);
  // The path defaults to "message" when there is none.
  assert.throws(() => name(1), { name: 'SchemaError', message: 'message: expected a string' });
});

test('str: a 4-byte emoji counts as 4 bytes', () => {
  const s = str({ maxBytes: 4 });
  assert.equal(s('😀'), '😀');
  rejects(() => s('😀a', 'x'), 'x', /longer than 4 bytes/);
});

test('int: integers in range only', () => {
  const v = int(1, 10);
  assert.equal(v(1), 1);
  assert.equal(v(10), 10);
  for (const bad of [0, 11, -1]) rejects(() => v(bad, 'n'), 'n', /out of range 1..10/);
  for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, '5', null, undefined, 5n, true]) {
    rejects(() => v(bad, 'n'), 'n', /expected an integer/);
  }
});

test('bool, oneOf and lit', () => {
  assert.equal(bool(false), false);
  rejects(() => bool('true', 'b'), 'b', /true or false/);
  rejects(() => bool(0, 'b'), 'b', /true or false/);
  const role = oneOf('requester', 'target');
  assert.equal(role('target'), 'target');
  rejects(() => role('admin', 'role'), 'role', /one of requester, target/);
  assert.equal(lit('ping')('ping'), 'ping');
  rejects(() => lit('ping')('pong', 't'), 't', /one of ping/);
});

test('arr: item count limit and item paths', () => {
  const list = arr(int(0, 9), 3);
  assert.deepEqual(list([1, 2, 3]), [1, 2, 3]);
  rejects(() => list([1, 2, 3, 4], 'xs'), 'xs', /more than 3 items/);
  rejects(() => list([1, 'x'], 'xs'), 'xs[1]', /expected an integer/);
  rejects(() => list({ length: 1, 0: 1 }, 'xs'), 'xs', /expected an array/);
});

test('opt: undefined passes, anything else is checked', () => {
  const port = opt(int(1, 65535));
  assert.equal(port.optional, true);
  assert.equal(port(undefined), undefined);
  assert.equal(port(80), 80);
  rejects(() => port(0, 'port'), 'port', /out of range/);
  rejects(() => port(null, 'port'), 'port', /expected an integer/);
});

test('obj: keeps only declared own fields, names nested paths', () => {
  const entry = obj({ user: str({ min: 1, maxBytes: 8 }), ip: str({ maxBytes: 45 }), port: opt(int(1, 65535)) });
  const shape = obj({ t: lit('x'), who: entry, list: arr(entry, 2) });
  const value = { t: 'x', who: { user: 'a', ip: '1', extra: 1 }, list: [{ user: 'b', ip: '2', port: 9 }], junk: true };
  assert.deepEqual(shape(value), { t: 'x', who: { user: 'a', ip: '1' }, list: [{ user: 'b', ip: '2', port: 9 }] });
  assert.ok(!('port' in shape(value).who), 'absent optional fields stay absent');
  rejects(() => shape({ t: 'x', who: { user: '', ip: '1' }, list: [] }), 'who.user', /shorter than 1/);
  rejects(
    () => shape({ t: 'x', who: { user: 'a', ip: '1' }, list: [{ user: 'b' }] }),
    'list[0].ip',
    /expected a string/,
  );
  rejects(() => entry(Object.create({ user: 'a', ip: '1' })), 'user', /expected a string/);
  for (const bad of [null, [], 'x', 1]) assert.throws(() => shape(bad), SchemaError);
});
