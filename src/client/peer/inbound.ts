/**
 * The message set a peer link accepts (PROTOCOL.md section 6.4): messages.ts's peerMessages
 * with `msg` replaced by a hand-written validator. Two reasons:
 * - size: `text` is accepted up to the frame limit, so that an oversized message can be
 *   refused by id with E_MESSAGE_TOO_LARGE (6.4) instead of a generic E_BAD_MESSAGE;
 * - speed: `msg` is validated once per chat message, and the generic obj() combinator costs
 *   about 25 times as much as these few typeof checks (bench/peer-link.ts, receiver profile).
 * test/client/peer-inbound.test.ts checks it accepts and rejects exactly what the generic
 * declaration `lenientMsg` below does.
 */
import { MAX_FRAME_BYTES } from '../../net/constants.ts';
import { peerMessages, type MessageOf } from '../../net/messages.ts';
import { int, lit, obj, SchemaError, str, type Validator } from '../../net/schema.ts';
import { utf8BytesOver } from '../../net/text-limits.ts';

export interface InboundChat {
  t: 'msg';
  id: number;
  text: string;
  ts: number;
}

/** The same rules, written with the generic combinators (the reference for the test). */
export const lenientMsg = obj({
  t: lit('msg'),
  id: int(1, Number.MAX_SAFE_INTEGER),
  text: str({ min: 1, maxBytes: MAX_FRAME_BYTES }),
  ts: int(0, Number.MAX_SAFE_INTEGER),
});

const isCount = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const at = (path: string, field: string): string => (path ? `${path}.${field}` : field);

export const fastMsg: Validator<InboundChat> = (value, path = '') => {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SchemaError(path, 'expected an object');
  const m = value as Record<string, unknown>;
  if (m.t !== 'msg' || !Object.hasOwn(m, 't')) throw new SchemaError(at(path, 't'), 'expected one of msg');
  const { id, text, ts } = m;
  if (!isCount(id, 1) || !Object.hasOwn(m, 'id'))
    throw new SchemaError(at(path, 'id'), 'expected an integer 1 or more');
  // A JSON string never decodes to more UTF-8 bytes than it was sent in, so a text inside a
  // frame is within MAX_FRAME_BYTES; the count only matters for values built in memory.
  if (typeof text !== 'string' || !Object.hasOwn(m, 'text'))
    throw new SchemaError(at(path, 'text'), 'expected a string');
  if (text.length === 0) throw new SchemaError(at(path, 'text'), 'shorter than 1');
  if (utf8BytesOver(text, MAX_FRAME_BYTES) > 0) {
    throw new SchemaError(at(path, 'text'), `longer than ${MAX_FRAME_BYTES} bytes`);
  }
  if (!isCount(ts, 0) || !Object.hasOwn(m, 'ts'))
    throw new SchemaError(at(path, 'ts'), 'expected an integer 0 or more');
  return { t: 'msg', id, text, ts };
};

export const inboundPeerMessages = { ...peerMessages, msg: fastMsg };
export type InboundPeerMessage = MessageOf<typeof inboundPeerMessages>;
