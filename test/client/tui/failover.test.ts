/**
 * The TUI on a cluster (README "Client", PROTOCOL.md 3.7): given two nodes it asks to trust
 * the cluster once, shows the node it is on in the status bar, and when that node stops it
 * is back online on the other one, the status bar saying so, with no question asked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterKey } from '../../../src/client/server-list.ts';
import { createApp } from '../../../src/client/tui/app.ts';
import { defer } from '../../helpers/cleanup.ts';
import { account, addressOf, sameCertNodes } from '../../helpers/same-cert.ts';
import { tempDir } from '../../helpers/server.ts';
import { trustAndRegister, VirtualTerminal } from '../../helpers/terminal.ts';

const PASSWORD = 'eve failover password';

test('the status bar shows the node; after it stops, the other node, logged in again', async (t) => {
  const [one, two] = await sameCertNodes(t);
  await account('eve', PASSWORD, two);
  const config = await tempDir('tui-failover');
  defer(t, config.remove);
  const vt = new VirtualTerminal(100, 30);
  defer(t, () => vt.dispose());
  const app = createApp({
    input: vt.input,
    output: vt.output,
    configDir: config.path,
    nodes: [addressOf(one), addressOf(two)],
    clientOptions: { reconnectBaseMs: 20, reconnectMaxMs: 200 },
  });
  defer(t, () => app.quit());
  const trust = await vt.waitForText('Trust this server?');
  // Named by its pin's key: the node list sorted, whatever the order given.
  const named = clusterKey([addressOf(one), addressOf(two)]).replaceAll('.', '\\.');
  assert.match(trust, new RegExp(`cluster ${named} `));
  await trustAndRegister(vt, 'eve', PASSWORD);
  await vt.waitForText(new RegExp(`eve @ 127\\.0\\.0\\.1:${one.port} `));
  await one.stopServer();
  await vt.waitForText(new RegExp(`eve @ 127\\.0\\.0\\.1:${two.port} .*TCP connected`));
  assert.equal(app.client?.server.port, two.port);
  assert.equal(two.app.core.presence.get('eve')?.user, 'eve');
});
