/**
 * The V8 heap of this process by constructor name (self sizes from a heap snapshot), for a
 * benchmark that asks where the memory of N sessions goes: census before, census after,
 * difference per session. Native memory (OpenSSL, libuv, malloc) is not in it: the caller
 * compares the heap's total with RSS for that.
 */
import { getHeapSnapshot } from 'node:v8';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

async function readSnapshot(): Promise<Snapshot> {
  const chunks: Buffer[] = [];
  for await (const chunk of getHeapSnapshot()) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Snapshot;
}

/** Bytes by "type:name" (objects by constructor; strings, code, arrays by kind). */
export async function heapCensus(): Promise<Record<string, number>> {
  const snap = await readSnapshot();
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const census: Record<string, number> = {};
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt] ?? 0] ?? '?';
    // Strings and code are grouped by kind: their "names" are their contents.
    const name = type === 'object' || type === 'closure' ? (snap.strings[snap.nodes[i + nameAt] ?? 0] ?? '?') : '';
    const key = `${type}${name ? `:${name}` : ''}`;
    census[key] = (census[key] ?? 0) + (snap.nodes[i + sizeAt] ?? 0);
  }
  return census;
}
