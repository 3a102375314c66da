/**
 * A dgram socket that does not resolve IP literals through dns.lookup. dgram looks up every
 * destination of every send, and dns.lookup answers a literal on the next tick: a closure and
 * a tick per datagram, about a quarter of a send's cost on loopback (docs/BENCHMARKS.md, issue
 * 15). Literals are answered at once (dgram supports that: it does so for connected sockets);
 * names still go through dns.lookup.
 */
import { createSocket, type Socket, type SocketOptions, type SocketType } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';

type Lookup = NonNullable<SocketOptions['lookup']>;

const literalsAtOnce: Lookup = (hostname, options, callback) => {
  const family = isIP(hostname);
  if (family !== 0) {
    callback(null, hostname, family);
    return;
  }
  dnsLookup(hostname, options, callback);
};

export function createUdpSocket(type: SocketType): Socket {
  return createSocket({ type, lookup: literalsAtOnce });
}
