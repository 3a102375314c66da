/** The smallest ChatSessionView the tabs model needs: it only reads peer and identity; tests emit its events. */
import { EventEmitter } from 'eventemitter3';
import type { ChatSessionEvents, ChatSessionView } from '../../src/client/tui/sources.ts';

export class PlainSession extends EventEmitter<ChatSessionEvents> implements ChatSessionView {
  readonly verificationCode = '0000-0000';
  isOpen = true;
  constructor(
    readonly id: string,
    readonly peer = { user: id, ip: '10.0.0.1' },
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
