/**
 * CPU time of other processes, read from Linux's /proc: the bench's server, broker and
 * receiver processes, so a table can say whose CPU a fan-out took. Nanoseconds from each
 * thread's schedstat (the scheduler's own run time), where /proc/PID/stat counts in 10 ms
 * ticks, too coarse for a 20 ms fan-out.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Run time of every thread of `pid` so far, in ms; NaN if it cannot be read (not Linux, gone). */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const fields = readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ');
      ns += Number(fields[0]);
    }
    return ns / 1e6;
  } catch {
    return Number.NaN;
  }
}

/** The kernel's count of datagrams dropped for a full UDP receive buffer (all sockets, this namespace). */
export function udpReceiveBufferErrors(): number {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n');
    const names = lines.find((l) => l.startsWith('Udp: In'))?.split(/\s+/) ?? [];
    const values = lines.find((l) => /^Udp: \d/.test(l))?.split(/\s+/) ?? [];
    return Number(values[names.indexOf('RcvbufErrors')]);
  } catch {
    return Number.NaN;
  }
}
