/** One feed per pane, made for the dashboard's layout (dashboard.ts draws them in one loop). */
import type { ServerApp } from '../app.ts';
import type { LogLevel } from '../log.ts';
import { ServerBroadcastQueueView } from './broadcast-queue-view.ts';
import { BroadcastsFeed, type BroadcastQueueView } from './broadcasts-feed.ts';
import { ClusterFeed } from './cluster-feed.ts';
import type { ClusterView } from './cluster-view.ts';
import { ConnectionsFeed } from './connections-feed.ts';
import { EventLogFeed } from './event-log-feed.ts';
import type { Feed } from './feed.ts';
import { FooterFeed } from './footer-feed.ts';
import type { Layout } from './layout.ts';
import { UsersFeed } from './users-feed.ts';

export interface Feeds {
  users: UsersFeed;
  eventLog: EventLogFeed;
  broadcasts: BroadcastsFeed;
  /** The server's own queue as the broadcasts pane reads it, unless another view was given. */
  serverQueue: ServerBroadcastQueueView | null;
  /** Every feed, in drawing order. */
  all: Feed[];
}

export function createFeeds(
  app: Pick<ServerApp, 'core' | 'listening' | 'identity' | 'dataDir'>,
  l: Layout,
  request: () => void,
  now: () => number,
  logLevel: LogLevel,
  queue?: BroadcastQueueView,
  cluster?: ClusterView,
): Feeds {
  const { core, listening, identity, dataDir } = app;
  const startedAt = now();
  const users = new UsersFeed(core, l.users, request, now, cluster);
  const eventLog = new EventLogFeed(l.events, logLevel, request, now);
  const serverQueue = queue ? null : new ServerBroadcastQueueView(core);
  const broadcasts = new BroadcastsFeed(queue ?? (serverQueue as ServerBroadcastQueueView), l.broadcasts, request, now);
  const footer = new FooterFeed(
    {
      host: listening.host,
      tcpPort: listening.tcpPort,
      udpPort: listening.udpPort,
      fingerprint: identity.fingerprint,
      dataDir,
      startedAt,
    },
    l.footer,
    request,
    startedAt,
  );
  const connections = new ConnectionsFeed(core, l.connections, l.chart, request, startedAt);
  const nodes = cluster && l.cluster ? [new ClusterFeed(cluster, l.cluster, request)] : [];
  return {
    users,
    eventLog,
    broadcasts,
    serverQueue,
    all: [connections, ...nodes, users, broadcasts, eventLog, footer],
  };
}
