/**
 * The file data frame of the peer link (PROTOCOL.md section 6.7). Pure: bytes in, fields out.
 * File bytes travel in binary, not in JSON: base64 would add a third to every byte and cost a
 * JSON parse per 16 KiB. The frame is told apart from a JSON message by its first payload
 * byte: JSON text (as sent by JSON.stringify) starts with `{`, a data frame with 0x00.
 *
 * payload = tag (0x00) | fid (uint32 BE) | offset (uint48 BE) | data (1..FILE_CHUNK_BYTES)
 */
import { FILE_CHUNK_BYTES, FRAME_HEADER_BYTES } from './constants.ts';
import { ErrorCode, ProtocolError } from './errors.ts';

export const FILE_DATA_TAG = 0x00;
export const FILE_DATA_HEADER_BYTES = 1 + 4 + 6;
const OFFSET_BYTES = 6;

export interface FileData {
  fid: number;
  offset: number;
  data: Buffer;
}

/** True when a frame's payload is a data frame (not JSON). */
export function isFileData(payload: Buffer): boolean {
  return payload.length > 0 && payload[0] === FILE_DATA_TAG;
}

/** A whole frame (length prefix included) carrying `data`, which must be 1..FILE_CHUNK_BYTES long. */
export function encodeFileData(fid: number, offset: number, data: Buffer): Buffer {
  if (data.length === 0 || data.length > FILE_CHUNK_BYTES) {
    throw new RangeError(`a file data frame carries 1..${FILE_CHUNK_BYTES} bytes, not ${data.length}`);
  }
  const payloadBytes = FILE_DATA_HEADER_BYTES + data.length;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadBytes);
  frame.writeUInt32BE(payloadBytes, 0);
  frame[FRAME_HEADER_BYTES] = FILE_DATA_TAG;
  frame.writeUInt32BE(fid, FRAME_HEADER_BYTES + 1);
  frame.writeUIntBE(offset, FRAME_HEADER_BYTES + 5, OFFSET_BYTES);
  data.copy(frame, FRAME_HEADER_BYTES + FILE_DATA_HEADER_BYTES);
  return frame;
}

/** A data frame's payload -> its fields (data is a view, not a copy), or E_BAD_FRAME. */
export function decodeFileData(payload: Buffer): FileData | ProtocolError {
  if (!isFileData(payload)) return new ProtocolError(ErrorCode.BAD_FRAME, 'not a file data frame');
  const dataBytes = payload.length - FILE_DATA_HEADER_BYTES;
  if (dataBytes < 1 || dataBytes > FILE_CHUNK_BYTES) {
    return new ProtocolError(
      ErrorCode.BAD_FRAME,
      `a file data frame carries 1..${FILE_CHUNK_BYTES} bytes, not ${dataBytes}`,
    );
  }
  return {
    fid: payload.readUInt32BE(1),
    offset: payload.readUIntBE(5, OFFSET_BYTES),
    data: payload.subarray(FILE_DATA_HEADER_BYTES),
  };
}
