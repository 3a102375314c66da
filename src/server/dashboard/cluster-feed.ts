/**
 * Cluster pane (cluster mode only; docs/CLUSTER.md): this node's id, whether Redis answers,
 * and every live node with its address, sessions and the age of its last heartbeat. A node
 * whose heartbeat ages past NODE_TTL_MS is about to be declared dead by the cluster.
 */
import type { Widgets } from 'blessed';
import type { ClusterView } from './cluster-view.ts';
import { Feed } from './feed.ts';
import { safeText } from './format.ts';

/** A line that does not fit is cut here rather than wrapped into the next node's. */
const PANE_CHROME_COLS = 3;

export class ClusterFeed extends Feed {
  constructor(
    private readonly view: ClusterView,
    private readonly box: Widgets.BoxElement,
    requestFrame: () => void,
  ) {
    super(requestFrame, [box]);
  }

  /** Heartbeat ages move every second. */
  override tick(): void {
    this.markDirty();
  }

  protected refresh(now: number): void {
    const nodes = this.view.nodes(now);
    const width = Math.max(1, (this.box.width as number) - PANE_CHROME_COLS);
    this.box.setLabel(
      ` Cluster: ${safeText(this.view.nodeId)} · ${nodes.length} node${nodes.length === 1 ? '' : 's'} `,
    );
    const lines = [
      this.view.redisAvailable ? 'Redis {green-fg}reachable{/green-fg}' : 'Redis {red-fg}UNREACHABLE{/red-fg}',
      ...nodes.map((n) => {
        const age = n.heartbeatAgeMs === null ? '-' : `${(n.heartbeatAgeMs / 1000).toFixed(1)}s`;
        const text = `${n.self ? '*' : ' '}${n.id} ${n.sessions} sess beat ${age} ${n.advertise}`;
        return safeText(text.slice(0, width));
      }),
    ];
    this.box.setContent(lines.map((line) => ` ${line}`).join('\n'));
  }
}
