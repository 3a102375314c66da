/** A chat session that only shows (no link behind it): for drawing tabs and panes in tests. */
import { EventEmitter } from 'eventemitter3';
import type { ChatSessionEvents, ChatSessionView } from '../../src/client/tui/sources.ts';

export class PlainSession extends EventEmitter<ChatSessionEvents> implements ChatSessionView {
  readonly id = 's1';
  readonly peer: { user: string; ip: string };
  readonly verificationCode: string;
  readonly isOpen = true;

  constructor(peer = { user: 'bob', ip: '192.0.2.7' }, verificationCode = '4821-0937') {
    super();
    this.peer = peer;
    this.verificationCode = verificationCode;
  }

  history() {
    return [];
  }
  send() {}
  setTyping() {}
  close() {}
}
