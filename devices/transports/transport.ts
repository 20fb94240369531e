/**
 * One Transport session over any Link (memory, serial, ZigBee): send a command and await its response, receive
 * alerts, with layered timeouts and errors that say plainly when the infrastructure, not the device, failed.
 *
 * - Matching: a GBCS response is the CRA 02 frame from the command's device, to the command's originator,
 *   with the command's originator counter; an S1SP response carries the instruction's meter and id. Anything
 *   else that arrives (a duplicate, a late answer to a request that already timed out) is counted and ignored.
 * - Alerts (GBCS CRA 03, S1SP alerts) go to alert listeners.
 * - Timeouts: opening the link, the link accepting a frame, and the response after that, each bounded; every
 *   request may override the last two. A send timeout withdraws the frame if the link still holds it (the
 *   device never gets it); a frame already on its way is no send timeout: the response clock starts instead.
 * - Errors: a TransportError (kind timeout | disconnected | link-failed | closed) is always infrastructure. A
 *   device that answers "no" answers with a response frame, which this class returns like any other.
 */
import { classifyFrame, type FrameKey } from './frame-keys.ts';
import { type Link, LinkError, type LinkState } from './link.ts';
import { Listeners } from './listeners.ts';

export type TransportErrorKind = 'timeout' | 'disconnected' | 'link-failed' | 'closed';
/** Where a timeout happened. */
export type TransportPhase = 'open' | 'send' | 'response';

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    readonly phase?: TransportPhase,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

export interface TransportTimeouts {
  /** Bringing the link up (default 5 s). */
  openMs: number;
  /**
   * The link taking responsibility for a frame (default 5 s). A frame the link still holds then is withdrawn (a
   * send timeout); one already on the wire (a serial frame awaiting its ACK) goes on to the response phase.
   */
  sendMs: number;
  /** The response after the frame was sent (default 30 s). */
  responseMs: number;
}

export interface TransportOptions {
  timeouts?: Partial<TransportTimeouts>;
}

export interface RequestOptions {
  sendTimeoutMs?: number;
  responseTimeoutMs?: number;
}

export interface Reply {
  frame: Uint8Array;
  key: FrameKey;
}

export interface Alert {
  frame: Uint8Array;
  key: FrameKey;
}

export interface TransportStats {
  requests: number;
  responses: number;
  /** Responses nobody was waiting for: duplicates, or late ones after a timeout. */
  ignored: number;
  /** Frames that are neither a known response nor an alert. */
  unrecognised: number;
  alerts: number;
  timeouts: number;
}

interface Waiter {
  resolve: (r: Reply) => void;
  reject: (e: TransportError) => void;
  timer: NodeJS.Timeout | null;
}

export type TransportState = 'closed' | 'opening' | 'open' | 'failed';

const DEFAULTS: TransportTimeouts = { openMs: 5000, sendMs: 5000, responseMs: 30000 };

export class Transport {
  private readonly timeouts: TransportTimeouts;
  private readonly waiting = new Map<string, Waiter>();
  private readonly alertListeners = new Listeners<[a: Alert]>();
  private unsubscribe: (() => void)[] = [];
  private st: TransportState = 'closed';
  readonly stats: TransportStats = { requests: 0, responses: 0, ignored: 0, unrecognised: 0, alerts: 0, timeouts: 0 };

  constructor(
    readonly link: Link,
    o: TransportOptions = {},
  ) {
    this.timeouts = { ...DEFAULTS, ...o.timeouts };
  }

  get state(): TransportState {
    return this.st;
  }

  get inFlight(): number {
    return this.waiting.size;
  }

  async open(): Promise<void> {
    if (this.st === 'open') return;
    this.st = 'opening';
    this.detach();
    this.unsubscribe = [this.link.onFrame((f) => this.receive(f)), this.link.onState((s, e) => this.linkState(s, e))];
    try {
      await withTimeout(this.link.open(), this.timeouts.openMs, () => new TransportError('timeout', `${this.link.name}: link did not open within ${this.timeouts.openMs} ms`, 'open'));
    } catch (e) {
      if ((this.st as TransportState) === 'closed') throw new TransportError('closed', `${this.link.name}: transport closed while opening`, undefined, e);
      this.st = 'failed';
      if (e instanceof TransportError) throw e;
      // Links name themselves in their errors already ("serial:m2: cannot open ..."); the others get the name here.
      const message = (e as Error).message;
      throw new TransportError('link-failed', message.startsWith(`${this.link.name}: `) ? message : `${this.link.name}: ${message}`, 'open', e);
    }
    if ((this.st as TransportState) === 'closed') {
      // close() has let go of the link, which opened all the same: close it again, or it stays open unused.
      await this.link.close();
      throw new TransportError('closed', `${this.link.name}: transport closed while opening`);
    }
    this.st = 'open';
  }

  async close(): Promise<void> {
    this.st = 'closed';
    this.failAll(new TransportError('closed', `${this.link.name}: transport closed`));
    this.detach();
    await this.link.close();
  }

  onAlert(listener: (a: Alert) => void): () => void {
    return this.alertListeners.add(listener);
  }

  /**
   * Sends a GBCS Command or an S1SP instruction and resolves with the device's response frame. Rejects only with
   * a TransportError (or a plain Error when the frame is not a request this class can match).
   */
  async request(frame: Uint8Array, o: RequestOptions = {}): Promise<Reply> {
    const key = classifyFrame(frame);
    if (!key || key.role !== 'request') throw new Error('not a GBCS command or S1SP instruction: use sendRaw for frames that cannot be matched');
    if (this.st !== 'open') throw new TransportError('closed', `${this.link.name}: transport is ${this.st}`);
    if (this.waiting.has(key.key)) throw new Error(`a request with key ${key.key} is already in flight`);
    this.stats.requests++;
    const reply = new Promise<Reply>((resolve, reject) => this.waiting.set(key.key, { resolve, reject, timer: null }));
    // Keep an unobserved rejection from surfacing before the caller awaits it.
    reply.catch(() => undefined);
    const ms = o.responseTimeoutMs ?? this.timeouts.responseMs;
    // From when the frame is out: acknowledged, or on its way at the send timeout (the response may come first).
    const awaitResponse = () => {
      const w = this.waiting.get(key.key);
      if (!w || w.timer) return;
      w.timer = setTimeout(() => {
        this.stats.timeouts++;
        this.settle(key.key, new TransportError('timeout', `${this.link.name}: no response to ${key.key} within ${ms} ms`, 'response'));
      }, ms);
    };
    void this.sendFrame(frame, o.sendTimeoutMs ?? this.timeouts.sendMs, awaitResponse).then(awaitResponse, (e: TransportError) => this.settle(key.key, e));
    return reply;
  }

  /**
   * Sends a frame without waiting for anything (adversarial frames, acknowledgements). A frame already on its way
   * at the send timeout is not withdrawn: this then waits for the link's verdict, which each link bounds.
   */
  async sendRaw(frame: Uint8Array, o: Pick<RequestOptions, 'sendTimeoutMs'> = {}): Promise<void> {
    if (this.st !== 'open') throw new TransportError('closed', `${this.link.name}: transport is ${this.st}`);
    await this.sendFrame(frame, o.sendTimeoutMs ?? this.timeouts.sendMs);
  }

  /**
   * Hands a frame to the link. At `ms` the frame is withdrawn if the link still holds it: the device never gets
   * it, a send timeout. If it is already on its way, `onTheWay` is told and the link's verdict stands.
   */
  private async sendFrame(frame: Uint8Array, ms: number, onTheWay?: () => void): Promise<void> {
    const withdraw = new AbortController();
    const timer = setTimeout(() => {
      withdraw.abort();
      // Whether the link withdrew it is not known yet; if it did, the send timeout below ends the request.
      onTheWay?.();
    }, ms);
    try {
      await this.link.send(frame, { signal: withdraw.signal });
    } catch (e) {
      if (e instanceof LinkError && e.kind === 'withdrawn' && withdraw.signal.aborted) {
        this.stats.timeouts++;
        throw new TransportError('timeout', `${this.link.name}: link did not accept the frame within ${ms} ms (withdrawn, never sent)`, 'send', e);
      }
      throw toTransportError(this.link.name, e);
    } finally {
      clearTimeout(timer);
    }
  }

  private receive(frame: Uint8Array): void {
    const key = classifyFrame(frame);
    if (!key || key.role === 'request') {
      this.stats.unrecognised++;
      return;
    }
    if (key.role === 'alert') {
      this.stats.alerts++;
      this.alertListeners.emit({ frame, key });
      return;
    }
    const w = this.waiting.get(key.key);
    if (!w) {
      this.stats.ignored++;
      return;
    }
    this.stats.responses++;
    this.waiting.delete(key.key);
    if (w.timer) clearTimeout(w.timer);
    w.resolve({ frame, key });
  }

  private linkState(state: LinkState, error?: LinkError): void {
    if (state === 'failed') {
      this.st = 'failed';
      this.failAll(new TransportError('disconnected', `${this.link.name}: ${error?.message ?? 'link failed'}`, undefined, error));
    } else if (state === 'closed' && this.st === 'open') {
      this.st = 'closed';
      this.failAll(new TransportError('closed', `${this.link.name}: link closed`));
    }
  }

  private settle(key: string, error: TransportError): void {
    const w = this.waiting.get(key);
    if (!w) return;
    this.waiting.delete(key);
    if (w.timer) clearTimeout(w.timer);
    w.reject(error);
  }

  private failAll(error: TransportError): void {
    for (const key of [...this.waiting.keys()]) this.settle(key, error);
  }

  private detach(): void {
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
  }
}

function toTransportError(link: string, e: unknown): TransportError {
  if (e instanceof LinkError) {
    const kind: TransportErrorKind = e.kind === 'closed' ? 'closed' : e.kind === 'disconnected' ? 'disconnected' : e.kind === 'timeout' ? 'timeout' : 'link-failed';
    return new TransportError(kind, `${link}: ${e.message}`, kind === 'timeout' ? 'send' : undefined, e);
  }
  return new TransportError('link-failed', `${link}: ${(e as Error)?.message ?? String(e)}`, undefined, e);
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]);
}
