/**
 * The input line's behaviour: the current tab's draft (each tab keeps its own), sending with
 * Enter, the history on Up/Down, Tab completion, pastes and the typing indicator. The main
 * screen routes the input line's keys here; the tabs model holds the drafts.
 */
import { Action, actionFor, type ScopeActions } from './keymap.ts';
import { parseCommand, type Command } from './commands.ts';
import { Completer, type Candidates } from './completion.ts';
import { InputHistory, type EditKey, type LineEditor } from './line-editor.ts';
import type { Tab, TabsModel } from './tabs.ts';
import { plural } from './text.ts';
import { completePath } from '../files/complete-path.ts';

/** `/send <path>` up to the cursor: Tab completes the path there. */
const SEND_PATH = /^(\/send +)(\S*)$/;

/** A message of more lines than this asks before it goes (a paste into the wrong window is common). */
export const CONFIRM_LINES = 5;

export interface ComposerHost {
  readonly tabs: TabsModel;
  /** Run a parsed line; resolves to the text to give back to the input when refused ('' when done). */
  run(command: Command, line: string): Promise<string>;
  note(text: string, tab?: Tab): void;
  confirm(title: string, lines: string[], question: string): Promise<boolean>;
  candidates(): Candidates;
  /** A line went into the input history (the saved history keeps it for the next run). */
  remember(line: string): void;
  changed(): void;
}

const lineCount = (text: string) => text.split('\n').length;

export class Composer {
  readonly history = new InputHistory();
  private readonly completer = new Completer();
  /** The tab whose peer was told we are typing, so it is told when we stop, from whichever tab. */
  private typingIn: Tab | null = null;
  /** Lines submitted so far: a refused line is given back only if none came after it. */
  private submitted = 0;

  constructor(private readonly host: ComposerHost) {}

  get editor(): LineEditor {
    return this.host.tabs.current.draft;
  }

  /** One key of the input line (scope 'input', then the editor's own). */
  handleKey(ch: string | undefined, key: EditKey): void {
    const name = key.full ?? key.name ?? '';
    const action = actionFor('input', name);
    if (action !== Action.COMPLETE && action !== Action.COMPLETE_BACK) this.completer.reset();
    if (action) return this.run(action);
    if (this.editor.handle(ch, key)) this.edited();
  }

  /** Alt-Enter (read before blessed, which drops it). */
  newline(): void {
    this.completer.reset();
    if (this.editor.apply(Action.NEWLINE)) this.edited();
  }

  /** A bracketed paste: one piece of text into the draft, newlines kept; nothing is sent. */
  paste(text: string, truncated: boolean): void {
    this.completer.reset();
    if (this.editor.insertText(text)) this.edited();
    if (truncated) this.host.note('The paste was too long; only its start was kept.');
  }

  private run(action: ScopeActions['input']): void {
    const editor = this.editor;
    switch (action) {
      case Action.SEND:
        return void this.submit();
      case Action.HISTORY_PREV:
      case Action.HISTORY_NEXT: {
        const up = action === Action.HISTORY_PREV;
        // In a message of several rows, Up and Down move between them first.
        if (editor.rowCount > 1 && editor.moveRow(up ? -1 : 1)) return;
        const entry = up ? this.history.previous(editor.value) : this.history.next();
        if (entry !== null) editor.set(entry);
        return;
      }
      case Action.COMPLETE:
      case Action.COMPLETE_BACK: {
        const step = action === Action.COMPLETE ? 1 : -1;
        if (step === 1 && this.completeSendPath()) return;
        const done = this.completer.complete(editor.codePoints, editor.position, step, () => this.host.candidates());
        if (done) {
          editor.load(done.value, done.cursor);
          this.edited();
        }
        return;
      }
    }
  }

  /**
   * Tab after `/send `: the path is completed from the disk as a shell does (to where the
   * names agree; with several, they are listed). Async: applied only if the draft is unchanged.
   */
  private completeSendPath(): boolean {
    const editor = this.editor;
    const before = editor.codePoints.slice(0, editor.position).join('');
    const m = SEND_PATH.exec(before);
    if (!m) return false;
    const [, command = '', typed = ''] = m;
    const after = editor.codePoints.slice(editor.position).join('');
    void completePath(typed).then(({ line, candidates }) => {
      if (this.editor !== editor || editor.value !== before + after) return;
      if (line !== typed) {
        const head = command + line + (candidates.length === 1 && !line.endsWith('/') ? ' ' : '');
        editor.load(head + after, [...head].length);
        this.edited();
        // Not in a key's turn, which draws after it: ask for the drawing.
        this.host.changed();
      } else if (candidates.length > 1) {
        this.host.note(`${candidates.length} matches: ${candidates.slice(0, 20).join('  ')}`);
      }
    });
    return true;
  }

  private async submit(): Promise<void> {
    const tab = this.host.tabs.current;
    const editor = tab.draft;
    const line = editor.value;
    const command = parseCommand(line);
    if (command.kind === 'empty') return;
    const text = command.kind === 'message' || command.kind === 'broadcast' ? command.text : '';
    if (lineCount(text) > CONFIRM_LINES) {
      const to = command.kind === 'broadcast' ? 'everyone' : (tab.session?.peer.user ?? 'this tab');
      const ok = await this.host.confirm(
        'Send this?',
        [`The message has ${plural(lineCount(text), 'line')}.`],
        `Send it to ${to} as one message?`,
      );
      // Asked while the draft could not change (the dialog takes every key): it is still the same.
      if (!ok || editor.value !== line) return;
    }
    this.history.push(line);
    this.host.remember(line);
    editor.clear();
    this.edited(tab);
    if (command.kind === 'error') {
      // A mistyped command leaves the line (Up brings it back), so the next one starts clean.
      this.host.note(command.message);
      return;
    }
    const seq = ++this.submitted;
    const kept = await this.host.run(command, line);
    // Refused: give the text back so nothing typed is lost (unless the user typed or sent on meanwhile).
    if (kept && editor.value === '' && seq === this.submitted) editor.set(kept);
    this.host.changed();
  }

  /** After an edit: tell the peer of this tab we are typing (or stopped), and the other tab's peer we stopped. */
  private edited(tab: Tab = this.host.tabs.current): void {
    const editor = tab.draft;
    const typing = !editor.isEmpty && editor.codePoints[0] !== '/';
    this.stopTypingUnless(tab);
    const session = tab.session;
    // The session rate-limits what goes on the wire; it only needs every keystroke and the end.
    if (!session || tab.ended || (!typing && this.typingIn !== tab)) return;
    session.setTyping(typing);
    this.typingIn = typing ? tab : null;
  }

  /** Away from the tab we typed in: its peer stops seeing us type (the draft stays). */
  stopTypingUnless(current: Tab): void {
    const tab = this.typingIn;
    if (!tab || tab === current) return;
    this.typingIn = null;
    if (tab.session && !tab.ended) tab.session.setTyping(false);
  }
}
