/**
 * Keeps incoming ZCL frames in the order the Z-Stack coordinator delivered them.
 *
 * herdsman 10.9.5's Z-Stack adapter hands a small frame (AF_INCOMING_MSG) on at once, but fetches a large one
 * (AF_INCOMING_MSG_EXT without data) with AF_DATA_RETRIEVE round trips first, in a concurrent queue; so a small
 * Transfer Data that follows a large one overtakes it, and a Link must deliver frames in order. This watches
 * the ZNP stream (ahead of the adapter) to learn the wire order, runs the large-frame fetches one at a time,
 * and holds each frame's `zclPayload` event until every frame that came before it has been handed on. A large
 * frame whose fetch fails (herdsman logs it and drops it) stops holding the line after `giveUpMs`.
 *
 * Relies on herdsman internals (adapter.znp, adapter.emit, adapter.dataRetrieveAll): pinned to 10.9.5, and a
 * no-op when they are not there.
 */

interface ZpiObjectLike {
  type: number;
  subsystem: number;
  command: { name: string };
  payload: { data?: Buffer; len?: number; srcaddr?: unknown; clusterid?: number };
}

interface Slot {
  /** Small frame: the very Buffer herdsman will emit. */
  data?: Buffer;
  /** Large frame: its length (fetched later into a new Buffer). */
  hugeLen?: number;
  at: number;
  args?: unknown[];
}

interface AdapterLike {
  znp?: { prependListener?(event: string, l: (o: ZpiObjectLike) => void): unknown };
  emit(event: string, ...args: unknown[]): boolean;
  dataRetrieveAll?(timestamp: number, length: number): Promise<Buffer | undefined>;
}

const AREQ = 2;
const AF = 4;

export interface ZnpOrder {
  stop(): void;
}

export interface OrderStats {
  /** Frames handed on later than herdsman would have (something before them was still being fetched). */
  held: number;
  /** Frames given up on (a large frame whose fetch failed). */
  givenUp: number;
}

/** Installs the ordering on a started Z-Stack adapter; returns null when the adapter is not one. */
export function keepZnpOrder(adapter: unknown, giveUpMs = 5000): (OrderStats & ZnpOrder) | null {
  const a = adapter as AdapterLike;
  const retrieve = a.dataRetrieveAll;
  if (!a.znp?.prependListener || typeof retrieve !== 'function' || typeof a.emit !== 'function') return null;
  const stats: OrderStats & ZnpOrder = { held: 0, givenUp: 0, stop: () => clearInterval(timer) };
  const line: Slot[] = [];
  const emit = a.emit.bind(a);

  // Large-frame fetches one at a time, so they finish in the order they started.
  let chain: Promise<unknown> = Promise.resolve();
  a.dataRetrieveAll = (timestamp: number, length: number) => {
    const p = chain.then(() => retrieve.call(a, timestamp, length));
    chain = p.catch(() => undefined);
    return p;
  };

  a.znp.prependListener('received', (o: ZpiObjectLike) => {
    if (o.type !== AREQ || o.subsystem !== AF) return;
    const name = o.command.name;
    if (name !== 'incomingMsg' && name !== 'incomingMsgExt') return;
    const data = o.payload.data;
    const len = o.payload.len ?? 0;
    if (name === 'incomingMsgExt' && (!data || data.length < len)) line.push({ hugeLen: len, at: Date.now() });
    else if (data) line.push({ data, at: Date.now() });
  });

  const flush = () => {
    for (;;) {
      const head = line[0];
      if (!head) return;
      if (head.args) {
        line.shift();
        emit('zclPayload', ...head.args);
      } else if (Date.now() - head.at > giveUpMs) {
        line.shift();
        stats.givenUp++;
      } else return;
    }
  };
  const timer = setInterval(flush, Math.max(100, giveUpMs / 5));
  timer.unref();

  a.emit = (event: string, ...args: unknown[]) => {
    if (event !== 'zclPayload') return emit(event, ...args);
    const data = (args[0] as { data?: Buffer } | undefined)?.data;
    const slot = line.find((s) => !s.args && (s.data !== undefined ? s.data === data : s.hugeLen === data?.length));
    if (!slot) return emit(event, ...args);
    slot.args = args;
    if (line[0] !== slot) stats.held++;
    flush();
    return true;
  };
  return stats;
}
