/** A chat session that only shows (no link behind it): for drawing tabs and panes in tests; tests emit its events. */
import { EventEmitter } from 'eventemitter3';
import type { ChatSessionEvents, ChatSessionView } from '../../src/client/tui/sources.ts';

export class PlainSession extends EventEmitter<ChatSessionEvents> implements ChatSessionView {
  isOpen = true;

  constructor(
    readonly id = 'bob',
    readonly peer = { user: id, ip: '192.0.2.7' },
    readonly verificationCode = '4821-0937',
  ) {
    super();
  }

  history() {
    return [];
  }
  send() {}
  setTyping() {}
  close() {
    this.isOpen = false;
  }
}
