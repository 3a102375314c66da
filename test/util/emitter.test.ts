/**
 * Typed subscriptions: the listener gets the payload the emitter declares, dispose() removes
 * every listener, and (checked by `tsc`, which covers test/) a wrong event name or a listener
 * of the wrong shape does not compile. The `@ts-expect-error` lines fail the type check the
 * day they stop being errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Emitter, Subscriptions, type Listenable } from '../../src/util/emitter.ts';
import type { P2PClient } from '../../src/client/client.ts';
import type { ChatSessionView, PeerSource } from '../../src/client/tui/sources.ts';

interface Events {
  said: [who: string, text: string];
  left: [];
}

test('listen types the payload from the event map and dispose removes every listener', () => {
  const source = new Emitter<Events>();
  const subs = new Subscriptions();
  const heard: string[] = [];
  subs.listen(source, 'said', (who, text) => heard.push(`${who}: ${text}`));
  subs.listen(source, 'left', () => heard.push('left'));
  source.emit('said', 'ann', 'hi');
  source.emit('left');
  assert.deepEqual(heard, ['ann: hi', 'left']);
  assert.equal(source.listenerCount('said') + source.listenerCount('left'), 2);
  subs.dispose();
  assert.equal(source.listenerCount('said') + source.listenerCount('left'), 0);
  source.emit('said', 'ann', 'again');
  assert.deepEqual(heard, ['ann: hi', 'left']);
});

test('an interface that extends Listenable keeps its map: a source of the TUI', () => {
  const source: Listenable<Events> = new Emitter<Events>();
  const subs = new Subscriptions();
  let said = '';
  subs.listen(source, 'said', (_who, text) => (said = text));
  (source as Emitter<Events>).emit('said', 'bo', 'typed');
  assert.equal(said, 'typed');
  subs.dispose();
});

/** Never called: these lines exist for the type check. */
export function typeLevelChecks(
  subs: Subscriptions,
  client: P2PClient,
  session: ChatSessionView,
  peers: PeerSource,
): void {
  const source = new Emitter<Events>();
  // @ts-expect-error: an event the map does not declare
  subs.listen(source, 'sayed', () => {});
  // @ts-expect-error: a listener whose parameters do not match the payload
  subs.listen(source, 'said', (who: number) => who);
  // The client core and the TUI's sources carry their maps too.
  subs.listen(client, 'disconnected', ({ error, retryInMs }) => [error.code, retryInMs satisfies number | null]);
  // @ts-expect-error: renamed or misspelt client event
  subs.listen(client, 'disconnect', () => {});
  subs.listen(session, 'delivery', (id, state) => [id satisfies string, state]);
  // @ts-expect-error: misspelt session event
  subs.listen(session, 'mesage', () => {});
  // @ts-expect-error: the payload of `typing` is a boolean
  subs.listen(session, 'typing', (on: string) => on);
  // @ts-expect-error: misspelt peer source event
  subs.listen(peers, 'requestEnd', () => {});
}
