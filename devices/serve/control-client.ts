/**
 * The harness's side of the CONTROL channel to an emulated device: requests with ids and timeouts, and the
 * state the device pushes. Errors are ControlError: the device refused, or did not answer in time.
 */
import { type ControlRequest, decodeControl, type DeviceIdentity, encodeControl, type ProvisionRequest } from './control.ts';
import { Listeners } from '../transports/listeners.ts';

export interface ControlChannel {
  sendControl(message: Uint8Array): Promise<void>;
  onControl(listener: (message: Uint8Array) => void): () => void;
}

export class ControlError extends Error {
  override readonly name = 'ControlError';
  constructor(
    readonly kind: 'refused' | 'timeout' | 'link',
    message: string,
  ) {
    super(message);
  }
}

export interface ControlReply {
  identity?: DeviceIdentity;
  state?: unknown;
}

type Request = ControlRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class ControlClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: ControlReply) => void; reject: (e: ControlError) => void; timer: NodeJS.Timeout }>();
  private readonly stateListeners = new Listeners<[eui: string, state: unknown, version: number]>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly channel: ControlChannel,
    private readonly timeoutMs = 5000,
  ) {
    this.unsubscribe = channel.onControl((m) => this.receive(m));
  }

  /** State pushed by the device, and state in replies; `version` grows with every change. */
  onState(listener: (eui: string, state: unknown, version: number) => void): () => void {
    return this.stateListeners.add(listener);
  }

  ping(timeoutMs?: number): Promise<DeviceIdentity> {
    return this.call({ op: 'ping' }, timeoutMs).then((r) => r.identity!);
  }

  provision(p: Omit<ProvisionRequest, 'op' | 'id'>, timeoutMs?: number): Promise<{ identity: DeviceIdentity; state: unknown }> {
    return this.call({ op: 'provision', ...p } as Request, timeoutMs).then((r) => ({ identity: r.identity!, state: r.state }));
  }

  advance(ms: number, timeoutMs?: number): Promise<unknown> {
    return this.call({ op: 'advance', ms }, timeoutMs).then((r) => r.state);
  }

  snapshot(timeoutMs?: number): Promise<unknown> {
    return this.call({ op: 'snapshot' }, timeoutMs).then((r) => r.state);
  }

  async call(request: Request, timeoutMs = this.timeoutMs): Promise<ControlReply> {
    const id = this.nextId++;
    const reply = new Promise<ControlReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new ControlError('timeout', `the device did not answer ${request.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
    });
    reply.catch(() => undefined);
    try {
      await this.channel.sendControl(encodeControl({ ...request, id } as ControlRequest));
    } catch (e) {
      const w = this.waiting.get(id);
      this.waiting.delete(id);
      if (w) clearTimeout(w.timer);
      throw new ControlError('link', `${request.op}: ${(e as Error).message}`);
    }
    return reply;
  }

  dispose(): void {
    this.unsubscribe();
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      w.reject(new ControlError('link', 'control channel closed'));
      this.waiting.delete(id);
    }
  }

  private receive(bytes: Uint8Array): void {
    const m = decodeControl(bytes) as { op?: string; id?: number; ok?: boolean; error?: string; eui?: string; state?: unknown; version?: number; identity?: DeviceIdentity } | null;
    if (!m) return;
    if (m.state !== undefined && typeof m.version === 'number') {
      const eui = m.eui ?? (m.state as { eui?: string }).eui ?? '';
      this.stateListeners.emit(eui, m.state, m.version);
    }
    if (m.op === 'state') return;
    if (m.op !== 'reply' || typeof m.id !== 'number') return;
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    clearTimeout(w.timer);
    if (m.ok) w.resolve({ ...(m.identity ? { identity: m.identity } : {}), ...('state' in m ? { state: m.state } : {}) });
    else w.reject(new ControlError('refused', m.error ?? 'refused'));
  }
}
