/**
 * Incoming chat requests on the main screen (PROTOCOL.md 6.1: the target answers within the
 * server's timeout): the queue, the notice above the input line, the bell, and the answers
 * (Alt-Y / Alt-N for the one shown, /accept and /decline for the one shown or a named user's).
 * A request never takes a key that was meant for the input line.
 */
import type blessed from 'blessed';
import { Subscriptions } from '../../util/emitter.ts';
import { describeError } from './errors-text.ts';
import { RequestQueue } from './request-queue.ts';
import type { PeerSource } from './sources.ts';
import { RequestNotice } from './views/request-notice.ts';

export interface RequestDeskHost {
  readonly peers: PeerSource;
  now(): number;
  note(text: string): void;
  changed(): void;
}

export class RequestDesk {
  private readonly queue: RequestQueue;
  private readonly notice: RequestNotice;
  private readonly subscriptions = new Subscriptions();

  constructor(
    private readonly screen: blessed.Widgets.Screen,
    private readonly host: RequestDeskHost,
  ) {
    this.queue = new RequestQueue(() => host.now());
    this.notice = new RequestNotice(screen);
    this.queue.on('changed', () => host.changed());
    const { peers } = host;
    for (const r of peers.requests()) this.queue.add(r);
    this.subscriptions.listen(peers, 'request', (r) => {
      this.queue.add(r);
      // Heard in another window too: an unseen request expires as declined.
      this.screen.program.bell();
    });
    this.subscriptions.listen(peers, 'requestEnded', (id) => this.queue.remove(id));
  }

  /** Answer the request shown (user null) or the oldest from `user`. */
  answer(user: string | null, accept: boolean): void {
    const request = user === null ? this.queue.first : this.queue.from(user);
    if (!request) {
      const whose = user === null ? '' : ` from ${user}`;
      return this.host.note(`There is no chat request${whose} waiting for an answer.`);
    }
    this.queue.remove(request.id);
    const who = `${request.from.user} (${request.from.ip})`;
    this.host.peers
      .answer(request.id, accept)
      .catch((err: unknown) => this.host.note(`No chat with ${who}: ${describeError(err)}`));
    this.host.note(`${accept ? 'Accepted' : 'Declined'} the chat request from ${who}.`);
  }

  /** Draw the notice with `bottom` rows below it (the input line and the status bar). */
  render(bottom: number): void {
    const request = this.queue.first;
    if (request) this.notice.show(request, this.host.now(), this.queue.size - 1, bottom);
    else this.notice.hide();
  }

  dispose(): void {
    this.queue.stop();
    this.subscriptions.dispose();
  }
}
