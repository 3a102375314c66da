/**
 * Messages <-> frames (PROTOCOL.md section 2). A payload is one UTF-8 JSON object whose `t`
 * names its type; it is validated against that type's schema before anyone sees it.
 */
import { MAX_FRAME_BYTES, MAX_REQUEST_ID } from './constants.ts';
import { ErrorCode, ProtocolError } from './errors.ts';
import { isFileData } from './file-frame.ts';
import { encodeFrame, FrameDecoder } from './framing.ts';
import type { MessageOf, MessageSet } from './messages.ts';
import { SchemaError } from './schema.ts';

export function encodeMessage<M extends { t: string }>(message: M, maxFrameBytes = MAX_FRAME_BYTES): Buffer {
  return encodeFrame(Buffer.from(JSON.stringify(message), 'utf8'), maxFrameBytes);
}

/**
 * `re` is the request id of a rejected message, when it had a valid one: the reply to a
 * malformed request still names it, so the sender's request fails at once instead of timing out.
 */
export type Decoded<M> = { ok: true; message: M } | { ok: false; error: ProtocolError; fatal: boolean; re?: number };

function requestIdOf(value: object): number | undefined {
  const id = (value as { id?: unknown }).id;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= MAX_REQUEST_ID ? id : undefined;
}

/** Validate one parsed payload against a message set; never throws. */
export function parsePayload<S extends MessageSet>(set: S, payload: Buffer): Decoded<MessageOf<S>> {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, fatal: false, error: new ProtocolError(ErrorCode.BAD_FRAME, 'payload is not valid JSON') };
  }
  return validateMessage(set, value);
}

export function validateMessage<S extends MessageSet>(set: S, value: unknown): Decoded<MessageOf<S>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, fatal: false, error: new ProtocolError(ErrorCode.BAD_FRAME, 'payload is not a JSON object') };
  }
  const tag = (value as { t?: unknown }).t;
  const validate = typeof tag === 'string' && Object.hasOwn(set, tag) ? set[tag] : undefined;
  if (typeof tag !== 'string' || validate === undefined) {
    const shown = typeof tag === 'string' ? JSON.stringify(tag.slice(0, 32)) : typeof tag;
    const error = new ProtocolError(ErrorCode.UNKNOWN_TYPE, `unknown message type ${shown}`);
    return { ok: false, fatal: false, error, re: requestIdOf(value) };
  }
  try {
    return { ok: true, message: validate(value) as MessageOf<S> };
  } catch (err) {
    const detail = err instanceof SchemaError ? err.message : 'invalid';
    const error = new ProtocolError(ErrorCode.BAD_MESSAGE, `${tag}: ${detail}`, { cause: err });
    return { ok: false, fatal: false, error, re: requestIdOf(value) };
  }
}

/**
 * Bytes in any chunking -> validated messages or typed errors. Never throws. With `binary`,
 * payloads that start with FILE_DATA_TAG go to it unparsed (the peer link's file data, 6.7).
 */
export class MessageDecoder<S extends MessageSet> {
  private readonly frames: FrameDecoder;

  constructor(
    private readonly set: S,
    maxFrameBytes = MAX_FRAME_BYTES,
    private readonly binary?: (payload: Buffer) => void,
  ) {
    this.frames = new FrameDecoder(maxFrameBytes);
  }

  get bufferedBytes(): number {
    return this.frames.bufferedBytes;
  }

  push(chunk: Buffer, sink: (result: Decoded<MessageOf<S>>) => void): void {
    const binary = this.binary;
    const failure = this.frames.push(chunk, (payload) => {
      if (binary && isFileData(payload)) binary(payload);
      else sink(parsePayload(this.set, payload));
    });
    if (failure) sink({ ok: false, fatal: true, error: failure });
  }
}
