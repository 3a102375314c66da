/**
 * The few MQTT 3.1.1 packets the baseline needs (OASIS MQTT 3.1.1, section 3): CONNECT,
 * SUBSCRIBE, PUBLISH at QoS 1 and PUBACK, plus a streaming packet splitter. Written here
 * rather than pulling in mqtt.js so that the 10,000 MQTT subscribers are as lightweight as
 * the 10,000 p2p-broadcast receivers they are compared with (a raw socket and a parser each).
 */

export const PacketType = { CONNECT: 1, CONNACK: 2, PUBLISH: 3, PUBACK: 4, SUBSCRIBE: 8, SUBACK: 9 } as const;

function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

function str(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(2 + body.length);
  out.writeUInt16BE(body.length, 0);
  body.copy(out, 2);
  return out;
}

function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), remainingLength(body.length), body]);
}

/** Clean session, no will, no credentials; keepalive 0 turns the broker's idle check off (3.1.2.10). */
export function connect(clientId: string, keepaliveSeconds = 0): Buffer {
  const header = Buffer.from([
    0x00,
    0x04,
    0x4d,
    0x51,
    0x54,
    0x54,
    0x04,
    0x02,
    keepaliveSeconds >> 8,
    keepaliveSeconds & 0xff,
  ]);
  return packet(PacketType.CONNECT << 4, Buffer.concat([header, str(clientId)]));
}

export function subscribe(packetId: number, topic: string, qos: 0 | 1): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(packetId, 0);
  return packet((PacketType.SUBSCRIBE << 4) | 0x02, Buffer.concat([id, str(topic), Buffer.from([qos])]));
}

export function publish(topic: string, payload: Buffer, qos: 0 | 1, packetId = 0): Buffer {
  const parts = [str(topic)];
  if (qos > 0) {
    const id = Buffer.alloc(2);
    id.writeUInt16BE(packetId, 0);
    parts.push(id);
  }
  parts.push(payload);
  return packet((PacketType.PUBLISH << 4) | (qos << 1), Buffer.concat(parts));
}

export function puback(packetId: number): Buffer {
  return Buffer.from([PacketType.PUBACK << 4, 0x02, packetId >> 8, packetId & 0xff]);
}

export interface MqttPacket {
  type: number;
  flags: number;
  body: Buffer;
}

/** Splits a byte stream into packets, whatever the chunking. */
export class MqttSplitter {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, sink: (packet: MqttPacket) => void): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 2) return;
      let length = 0;
      let multiplier = 1;
      let i = 1;
      for (;;) {
        if (i >= this.buffer.length) return;
        const byte = this.buffer.readUInt8(i++); // i < length: checked above
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) break;
        if (i > 4) throw new Error('MQTT remaining length over 4 bytes');
      }
      if (this.buffer.length < i + length) return;
      const first = this.buffer.readUInt8(0); // length >= 2: checked above
      sink({ type: first >> 4, flags: first & 0x0f, body: this.buffer.subarray(i, i + length) });
      this.buffer = this.buffer.subarray(i + length);
    }
  }
}

/** A PUBLISH body's topic, packet id (QoS > 0) and payload. */
export function readPublish(p: MqttPacket): { topic: string; packetId: number; payload: Buffer } {
  const qos = (p.flags >> 1) & 0x03;
  const topicLength = p.body.readUInt16BE(0);
  const topic = p.body.toString('utf8', 2, 2 + topicLength);
  let offset = 2 + topicLength;
  let packetId = 0;
  if (qos > 0) {
    packetId = p.body.readUInt16BE(offset);
    offset += 2;
  }
  return { topic, packetId, payload: p.body.subarray(offset) };
}
