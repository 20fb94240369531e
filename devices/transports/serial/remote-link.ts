/**
 * The parent's side of the link host (link-host.ts): SerialLinks that live in a child process, usable from any
 * thread. `RemoteSerialLink` is a Link (plus the CONTROL channel) whose frames cross IPC to the host; its state
 * follows the host's link, and the host exiting fails every link as 'disconnected'.
 *
 * `exchangeSync` sends CONTROL messages and waits for their replies while blocking the calling thread (through
 * a short-lived client process): for the few synchronous questions a device pool must answer, such as moving
 * every device clock before the scenario engine reads device state.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Link, LinkError, type LinkErrorKind, type LinkState, type SendOptions } from '../link.ts';
import type { HostEvent, SyncExchangeReply, SyncExchangeRequest } from './link-host.ts';
import type { SerialLinkOptions, SerialLinkStats } from './serial-link.ts';
import { Listeners } from '../listeners.ts';

const HOST_MAIN = fileURLToPath(new URL('./link-host-main.mjs', import.meta.url));
const SYNC_CLIENT = fileURLToPath(new URL('./sync-client.mjs', import.meta.url));
const HAVE_SOCAT = !spawnSync('socat', ['-V'], { stdio: 'ignore' }).error;

interface HostError {
  kind: string;
  message: string;
  range?: boolean;
}

export class LinkHost {
  private n = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly links = new Map<string, RemoteSerialLink>();
  private nextLink = 0;
  private alive = true;
  private closing: Promise<void> | null = null;
  readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly socketPath: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    // IPC errors (a send or disconnect racing the host's exit) show as the host exiting; unheard, they would crash us.
    child.on('error', () => undefined);
    child.on('message', (m) => this.message(m as HostEvent | { n: number; ok: boolean; value?: unknown; error?: HostError }));
    void this.exited.then(() => {
      this.alive = false;
      rmSync(socketPath, { force: true });
      for (const [, w] of this.waiting) w.reject(new LinkError('disconnected', 'the link host exited'));
      this.waiting.clear();
      for (const l of this.links.values()) l.hostGone();
    });
  }

  static async start(o: { timeoutMs?: number } = {}): Promise<LinkHost> {
    const socketPath = join(tmpdir(), `smets-hil-links-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
    const child = spawn(process.execPath, [HOST_MAIN, socketPath], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], serialization: 'advanced' });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the link host did not start within ${o.timeoutMs ?? 60_000} ms: ${stderr}`)), o.timeoutMs ?? 60_000);
      child.on('message', (m) => {
        if ((m as { event?: string }).event === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the link host exited (${code}) while starting: ${stderr}`));
      });
    });
    return new LinkHost(child, socketPath);
  }

  /** False once the host process has exited: its links are gone, and a new host is needed for more. */
  get running(): boolean {
    return this.alive;
  }

  get pid(): number {
    return this.child.pid!;
  }

  link(options: Omit<SerialLinkOptions, 'binding'>): RemoteSerialLink {
    const id = `L${++this.nextLink}`;
    const l = new RemoteSerialLink(this, id, options);
    this.links.set(id, l);
    return l;
  }

  /** Lets the parent exit while this host is idle (the host follows it out); `ref` undoes it. */
  unref(): void {
    this.child.unref();
    (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
    (this.child.stderr as { unref?: () => void } | null)?.unref?.();
  }

  ref(): void {
    this.child.ref();
    (this.child.channel as { ref?: () => void } | undefined)?.ref?.();
    (this.child.stderr as { ref?: () => void } | null)?.ref?.();
  }

  /** Idempotent: overlapping calls share one close. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.alive && this.child.connected) this.child.disconnect();
      const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(t);
    })();
    return this.closing;
  }

  /** @internal `signal` aborted, the host is asked to withdraw the request (a send: see Link.send). */
  request(req: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    if (!this.alive) return Promise.reject(new LinkError('disconnected', 'the link host has exited'));
    const n = ++this.n;
    const withdraw = () => void this.request({ op: 'withdraw', link: req.link, of: n }).catch(() => undefined);
    signal?.addEventListener('abort', withdraw, { once: true });
    return new Promise((resolve, reject) => {
      this.waiting.set(n, { resolve, reject });
      this.child.send({ ...req, n });
    }).finally(() => signal?.removeEventListener('abort', withdraw));
  }

  /**
   * Sends each CONTROL message and waits for the reply with its id, blocking this thread meanwhile. Frames and
   * messages that arrive on the links also reach their listeners as usual, later, when this thread runs again.
   */
  exchangeSync(items: { link: RemoteSerialLink; id: number; message: string }[], timeoutMs: number): SyncExchangeReply {
    const req: SyncExchangeRequest = { items: items.map((i) => ({ link: i.link.id, id: i.id, message: i.message })), timeoutMs };
    const input = JSON.stringify(req) + '\n';
    // socat starts in milliseconds, node in tens of them: the engine asks twice a step.
    let r = HAVE_SOCAT ? spawnSync('socat', ['-t', String(Math.ceil(timeoutMs / 1000) + 5), '-', `UNIX-CONNECT:${this.socketPath}`], { input, timeout: timeoutMs + 10_000, encoding: 'utf8' }) : null;
    if (!r || r.error) r = spawnSync(process.execPath, [SYNC_CLIENT, this.socketPath], { input, timeout: timeoutMs + 10_000, encoding: 'utf8' });
    if (r.status !== 0 || !r.stdout) throw new LinkError('disconnected', `the link host did not answer: ${r.error?.message ?? r.stderr}`);
    return JSON.parse(r.stdout) as SyncExchangeReply;
  }

  private message(m: HostEvent | { n: number; ok: boolean; value?: unknown; error?: HostError } | { event: 'ready' }): void {
    if ('n' in m) {
      const w = this.waiting.get(m.n);
      if (!w) return;
      this.waiting.delete(m.n);
      if (m.ok) w.resolve(m.value);
      else w.reject(m.error?.range ? new RangeError(m.error.message) : new LinkError((m.error?.kind ?? 'closed') as LinkErrorKind, m.error?.message ?? 'failed'));
      return;
    }
    if (m.event === 'ready') return;
    this.links.get(m.link)?.event(m);
  }
}

export class RemoteSerialLink implements Link {
  readonly name: string;
  private st: LinkState = 'closed';
  /** Opens asked of the host and not yet answered: the state says 'opening' only once the host has begun. */
  private openings = 0;
  private readonly frameListeners = new Listeners<[frame: Uint8Array]>();
  private readonly controlListeners = new Listeners<[message: Uint8Array]>();
  private readonly stateListeners = new Listeners<[state: LinkState, error?: LinkError]>();

  /** @internal */
  constructor(
    private readonly host: LinkHost,
    readonly id: string,
    private readonly options: Omit<SerialLinkOptions, 'binding'>,
  ) {
    this.name = options.name ?? `serial:${options.path}`;
  }

  get state(): LinkState {
    return this.st;
  }

  get path(): string {
    return this.options.path;
  }

  get linkHost(): LinkHost {
    return this.host;
  }

  async open(): Promise<void> {
    if (this.st === 'open') return;
    this.openings++;
    try {
      await this.host.request({ op: 'open', link: this.id, options: { ...this.options, name: this.name } });
    } finally {
      this.openings--;
    }
  }

  async close(): Promise<void> {
    // Closed right after open() was called, the host may not have said 'opening' yet: it must still be told.
    if (this.st === 'closed' && this.openings === 0) return;
    await this.host.request({ op: 'close', link: this.id }).catch(() => undefined);
    if ((this.st as LinkState) !== 'closed') this.setState('closed');
  }

  /** Aborting `o.signal` asks the host to withdraw the frame; it answers the send 'withdrawn' if it could. */
  async send(frame: Uint8Array, o: SendOptions = {}): Promise<void> {
    if (this.st !== 'open') throw new LinkError(this.st === 'failed' ? 'disconnected' : 'closed', `${this.name}: link is ${this.st}`);
    if (o.signal?.aborted) throw new LinkError('withdrawn', `${this.name}: frame withdrawn before it was sent`);
    await this.host.request({ op: 'send', link: this.id, frame: Uint8Array.from(frame) }, o.signal);
  }

  async sendControl(message: Uint8Array): Promise<void> {
    if (this.st !== 'open') throw new LinkError(this.st === 'failed' ? 'disconnected' : 'closed', `${this.name}: link is ${this.st}`);
    await this.host.request({ op: 'control', link: this.id, message: Uint8Array.from(message) });
  }

  stats(): Promise<SerialLinkStats> {
    return this.host.request({ op: 'stats', link: this.id }) as Promise<SerialLinkStats>;
  }

  onFrame(listener: (frame: Uint8Array) => void): () => void {
    return this.frameListeners.add(listener);
  }

  onControl(listener: (message: Uint8Array) => void): () => void {
    return this.controlListeners.add(listener);
  }

  onState(listener: (state: LinkState, error?: LinkError) => void): () => void {
    return this.stateListeners.add(listener);
  }

  /** @internal */
  event(e: HostEvent): void {
    if (e.event === 'frame') this.frameListeners.emit(e.frame);
    else if (e.event === 'ctl') this.controlListeners.emit(e.message);
    else this.setState(e.state as LinkState, e.error ? new LinkError(e.error.kind as LinkErrorKind, e.error.message) : undefined);
  }

  /** @internal */
  hostGone(): void {
    if (this.st === 'open' || this.st === 'opening') this.setState('failed', new LinkError('disconnected', `${this.name}: the link host exited`));
  }

  private setState(state: LinkState, error?: LinkError): void {
    this.st = state;
    this.stateListeners.emit(state, error);
  }
}
