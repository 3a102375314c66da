/** The server command line (src/server/main.ts): options from P2P_* environment variables. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { optionsFromEnv } from '../../src/server/main.ts';

test('P2P_* variables that name a server option are taken; others are ignored, not refused', () => {
  assert.deepEqual(
    optionsFromEnv({
      P2P_PORT: '4500',
      P2P_DATA_DIR: '/srv/p2p',
      P2P_MAX_REGISTRATIONS_PER_MINUTE: '5',
      P2P_HEADLESS: 'true',
      P2P_CONFIG_DIR: '/home/u/.config/p2p-broadcast', // the client's
      P2P_TEST: '1',
      PORT: '80',
    }),
    { port: '4500', 'data-dir': '/srv/p2p', headless: 'true', 'max-registrations-per-minute': '5' },
  );
});
