/**
 * The in-memory Link pair: the reference every other link is measured against, with fault injection so tests
 * can make the wire drop, delay, duplicate or corrupt chosen frames in either direction, or cut the connection.
 * Frames are copied on send and delivered asynchronously, in order per direction (a delayed frame arrives
 * later than frames sent after it). A send while the far end is closed is refused as 'disconnected'.
 */
import { type Direction, faultOutcome, type FaultRule, FaultRules } from './faults.ts';
import { type Link, LinkError, type LinkState, type SendOptions } from './link.ts';
import { Listeners } from './listeners.ts';

export { type Direction, type FaultAction, type FaultEvent, type FaultRule, flipMiddleBit } from './faults.ts';

/** Controls the faults of one link pair. Rules are tried in the order added; the first that matches applies. */
export class FaultInjector extends FaultRules {
  constructor(private readonly pair: MemoryLinkPair) {
    super();
  }

  /** Cuts the connection now: both ends fail with a 'disconnected' LinkError and frames in flight are lost. */
  disconnect(): void {
    this.pair.sever();
  }

  /** Allows the ends to be opened again after a disconnect. */
  reconnect(): void {
    this.pair.mend();
  }
}

export class MemoryLink implements Link {
  private st: LinkState = 'closed';
  private readonly frameListeners = new Listeners<[frame: Uint8Array]>();
  private readonly stateListeners = new Listeners<[state: LinkState, error?: LinkError]>();

  constructor(
    readonly name: string,
    private readonly pair: MemoryLinkPair,
    private readonly direction: Direction,
  ) {}

  get state(): LinkState {
    return this.st;
  }

  async open(): Promise<void> {
    if (this.st === 'open') return;
    if (this.pair.severed) {
      this.setState('failed', new LinkError('open-failed', `${this.name}: the connection is down`));
      throw new LinkError('open-failed', `${this.name}: the connection is down`);
    }
    this.setState('opening');
    await Promise.resolve();
    // Closed, or the connection cut, while opening: that stands, as on a serial line.
    if ((this.st as LinkState) === 'closed') throw new LinkError('closed', `${this.name}: closed while opening`);
    if ((this.st as LinkState) === 'failed' || this.pair.severed) {
      if (this.st !== 'failed') this.setState('failed', new LinkError('open-failed', `${this.name}: the connection is down`));
      throw new LinkError('open-failed', `${this.name}: the connection went down while opening`);
    }
    this.setState('open');
  }

  async close(): Promise<void> {
    if (this.st !== 'closed') this.setState('closed');
  }

  /** The frame leaves at once (its delivery follows, asynchronously): only a signal aborted already withdraws it. */
  async send(frame: Uint8Array, o: SendOptions = {}): Promise<void> {
    if (this.st !== 'open') throw new LinkError(this.st === 'failed' ? 'disconnected' : 'closed', `${this.name}: link is ${this.st}`);
    if (o.signal?.aborted) throw new LinkError('withdrawn', `${this.name}: frame withdrawn before it was sent`);
    // Nobody on the far end takes it: an infrastructure failure, as a serial line reports once its retries run out.
    if (this.pair.peerOf(this).state === 'closed') throw new LinkError('disconnected', `${this.name}: the far end is closed`);
    this.pair.carry(this.direction, Uint8Array.from(frame));
    if ((this.st as LinkState) !== 'open') throw new LinkError('disconnected', `${this.name}: disconnected while sending`);
  }

  onFrame(listener: (frame: Uint8Array) => void): () => void {
    return this.frameListeners.add(listener);
  }

  onState(listener: (state: LinkState, error?: LinkError) => void): () => void {
    return this.stateListeners.add(listener);
  }

  /** @internal delivery from the pair */
  deliver(frame: Uint8Array): void {
    if (this.st !== 'open') return;
    this.frameListeners.emit(frame);
  }

  /** @internal */
  setState(state: LinkState, error?: LinkError): void {
    this.st = state;
    this.stateListeners.emit(state, error);
  }
}

export interface MemoryLinkPairOptions {
  /** Used in link names ("memory:<name>:dcc"). */
  name?: string;
  /** Delivery latency in ms; 0 (default) delivers on the next turn of the event loop. */
  latencyMs?: number;
  faults?: FaultRule[];
}

export class MemoryLinkPair {
  readonly dcc: MemoryLink;
  readonly device: MemoryLink;
  readonly faults: FaultInjector;
  severed = false;
  private generation = 0;
  private readonly sent: Record<Direction, number> = { 'to-device': 0, 'to-dcc': 0 };
  private readonly latencyMs: number;

  constructor(o: MemoryLinkPairOptions = {}) {
    const name = o.name ?? 'link';
    this.dcc = new MemoryLink(`memory:${name}:dcc`, this, 'to-device');
    this.device = new MemoryLink(`memory:${name}:device`, this, 'to-dcc');
    this.faults = new FaultInjector(this);
    for (const r of o.faults ?? []) this.faults.add(r);
    this.latencyMs = o.latencyMs ?? 0;
  }

  /** @internal */
  peerOf(end: MemoryLink): MemoryLink {
    return end === this.dcc ? this.device : this.dcc;
  }

  /** @internal */
  carry(direction: Direction, frame: Uint8Array): void {
    if (this.severed) return; // nothing crosses a cut connection
    const index = this.sent[direction]++;
    const to = direction === 'to-device' ? this.device : this.dcc;
    const outcome = faultOutcome(this.faults.match(direction, frame, index), frame);
    if (outcome === 'disconnect') return this.sever();
    for (const d of outcome) this.later(to, d.frame, this.latencyMs + d.delayMs);
  }

  private later(to: MemoryLink, frame: Uint8Array, ms: number): void {
    const gen = this.generation;
    const go = () => {
      // Frames in flight when the connection was cut are lost.
      if (gen === this.generation) to.deliver(frame);
    };
    if (ms > 0) setTimeout(go, ms);
    else setImmediate(go);
  }

  /** @internal */
  sever(): void {
    this.severed = true;
    this.generation++;
    for (const end of [this.dcc, this.device]) {
      if (end.state === 'open' || end.state === 'opening') end.setState('failed', new LinkError('disconnected', `${end.name}: disconnected`));
    }
  }

  /** @internal */
  mend(): void {
    this.severed = false;
  }
}

/** A connected pair: `dcc` for the Transport, `device` for a device host. */
export function createMemoryLinkPair(o: MemoryLinkPairOptions = {}): MemoryLinkPair {
  return new MemoryLinkPair(o);
}
