import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommand, type Command } from '../../../src/client/tui/commands.ts';

const cases: Array<[string, Command]> = [
  ['hello', { kind: 'message', text: 'hello' }],
  ['  ', { kind: 'empty' }],
  ['', { kind: 'empty' }],
  ['//slash', { kind: 'message', text: '/slash' }],
  ['/connect bob', { kind: 'connect', target: { user: 'bob' } }],
  ['/connect 10.0.0.7', { kind: 'connect', target: { ip: '10.0.0.7' } }],
  ['/connect ::1', { kind: 'connect', target: { ip: '::1' } }],
  ['/CONNECT Bob', { kind: 'connect', target: { user: 'Bob' } }],
  ['/connect', { kind: 'error', message: 'Usage: /connect <ip|username>' }],
  ['/connect a b', { kind: 'error', message: 'Usage: /connect <ip|username>' }],
  ['/broadcast hi  there', { kind: 'broadcast', text: 'hi  there' }],
  ['/broadcast   ', { kind: 'error', message: 'Usage: /broadcast <text>' }],
  ['/close', { kind: 'close' }],
  ['/peers', { kind: 'peers' }],
  ['/help', { kind: 'help' }],
  ['/quit', { kind: 'quit' }],
  ['/nope', { kind: 'error', message: 'Unknown command /nope. Type /help for the list.' }],
];

for (const [line, expected] of cases) {
  test(`parse ${JSON.stringify(line)}`, () => assert.deepEqual(parseCommand(line), expected));
}
