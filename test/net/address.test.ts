/** Address normalisation (src/net/address.ts): one text per address. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isIpAddress, normalizeIp } from '../../src/net/address.ts';

test('spellings of one IPv6 address normalise to one text', () => {
  for (const spelling of ['::1', '0:0:0:0:0:0:0:1', '0000::0001', '::0:1'])
    assert.equal(normalizeIp(spelling), '::1', spelling);
  assert.equal(normalizeIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
});

test('IPv4-mapped IPv6 becomes plain IPv4, however it is written', () => {
  assert.equal(normalizeIp('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(normalizeIp('::FFFF:7f00:1'), '127.0.0.1');
  assert.equal(normalizeIp('0:0:0:0:0:ffff:c000:0207'), '192.0.2.7');
  assert.equal(normalizeIp('192.0.2.7'), '192.0.2.7');
});

test('texts that are not addresses are told apart', () => {
  for (const text of ['1.2', ':::::::', '256.1.1.1', '1.2.3.4.5', '::1%']) assert.equal(isIpAddress(text), false, text);
  // The unspecified address is an address (nobody is ever online at it).
  assert.equal(isIpAddress('::'), true);
  assert.equal(normalizeIp(undefined), '0.0.0.0');
});
