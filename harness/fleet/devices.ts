/**
 * One shard's emulated meters and the DevicePort its DCC reaches them through. Every meter of the shard's EUI
 * ranges exists from the start (seed-derived keys, one shared state record per starting state: ~100 heap bytes
 * each); SMETS2+ Commands and S1SP instructions travel over an in-memory Link to a DeviceHost, as for scenario
 * runs. The host records which meters a frame ever reached, so the invariant can tell untouched meters apart.
 */
import type { KeyObject } from 'node:crypto';
import { SimClock } from '../../devices/clock.ts';
import { connectInMemory, type Connection } from '../../devices/connect.ts';
import type { Meter } from '../../devices/meter.ts';
import { Smets1Meter, type S1spAnchor } from '../../devices/smets1/meter.ts';
import { SeededKeySource } from '../../devices/smets2/keys.ts';
import { Smets2Meter } from '../../devices/smets2/meter.ts';
import type { TrustAnchors } from '../../devices/smets2/trust-anchors.ts';
import { TransportError } from '../../devices/transports/transport.ts';
import type { DevicePort, DeviceReply, Smets1Operation } from '../../emulator/ports.ts';
import type { DeviceRecord } from '../../emulator/registry.ts';
import { operationFromUpdatePaymentMode, S1sp } from '../../emulator/s1sp.ts';
import type { UpdatePaymentModeBody } from '../../protocol/duis/index.ts';
import type { Eui } from '../../protocol/smki/eui.ts';
import { supportedSrvs } from '../pools/emulated.ts';
import { type FleetPlan, indexOf, type MeterSpec, type ShardRange } from './plan.ts';

/** Frozen, shared starting states: every meter starting alike shares one state record. */
const PREPAYMENT = Object.freeze({ paymentMode: 'prepayment' as const });
const CREDIT = Object.freeze({ paymentMode: 'credit' as const });

export interface FleetDeviceOptions {
  plan: FleetPlan;
  range: ShardRange;
  start: Date;
  s1sp: { eui: Eui; key: KeyObject; publicKey: KeyObject };
}

export class FleetDevices {
  readonly port: DevicePort;
  readonly clock: SimClock;
  /** Per local index: 1 once any frame reached the meter. */
  readonly addressed: Uint8Array;
  private readonly meters: Meter[];
  private readonly failedCount: number;
  private connection: Connection | null = null;
  private s1sp: S1sp | null = null;
  private readonly alertListeners = new Set<(device: Eui, frame: Uint8Array) => void>();
  private readonly srvs = new Map<string, ReadonlySet<string>>();
  private readonly keys: SeededKeySource;
  private readonly s1spAnchor: S1spAnchor;

  constructor(private readonly o: FleetDeviceOptions) {
    const { range } = o;
    this.clock = new SimClock(o.start);
    this.failedCount = range.failed[1] - range.failed[0];
    const count = this.failedCount + (range.healthy[1] - range.healthy[0]);
    this.meters = new Array<Meter>(count);
    this.addressed = new Uint8Array(count);
    this.keys = new SeededKeySource(o.plan.options.seed, 256);
    this.s1spAnchor = { eui: o.s1sp.eui, publicKey: o.s1sp.publicKey };
    this.port = {
      sendCommand: (device, command, timeoutMs) => this.sendCommand(device, command, timeoutMs),
      sendSmets1: (device, operation, timeoutMs) => this.sendSmets1(device, operation, timeoutMs),
      supportedSrvs: (device) => this.supported(device),
      onAlert: (listener) => {
        this.alertListeners.add(listener);
        return () => this.alertListeners.delete(listener);
      },
      state: (eui) => this.meter(eui)?.snapshot(),
    };
  }

  /** Creates every meter of the shard, trusting the suppliers' keys as SMKI has them (the DCC must exist first). */
  populate(anchors: { failed: TrustAnchors; healthy: TrustAnchors }): void {
    for (let local = 0; local < this.meters.length; local++) this.meters[local] = this.create(this.spec(local), anchors);
  }

  /** A meter as it starts (the invariant compares the fleet with these). */
  create(spec: MeterSpec, anchors: { failed: TrustAnchors; healthy: TrustAnchors }): Meter {
    const initial = spec.prepay ? PREPAYMENT : CREDIT;
    if (spec.type === 'SMETS1') return new Smets1Meter({ eui: spec.eui, variant: spec.fuel === 'gas' ? 'gsme' : 'esme', clock: this.clock, initial, s1sp: this.s1spAnchor });
    return new Smets2Meter({
      eui: spec.eui,
      variant: spec.type === 'GSME' ? 'gsme' : spec.twin ? 'esme-twin' : 'esme',
      clock: this.clock,
      initial,
      keys: this.keys,
      trustAnchors: spec.failedSupplier ? anchors.failed : anchors.healthy,
    });
  }

  get size(): number {
    return this.meters.length;
  }

  globalIndex(local: number): number {
    const { range } = this.o;
    return local < this.failedCount ? range.failed[0] + local : range.healthy[0] + (local - this.failedCount);
  }

  localIndex(index: number): number {
    const { range } = this.o;
    if (index >= range.failed[0] && index < range.failed[1]) return index - range.failed[0];
    if (index >= range.healthy[0] && index < range.healthy[1]) return this.failedCount + index - range.healthy[0];
    return -1;
  }

  meterAt(local: number): Meter {
    return this.meters[local]!;
  }

  meter(eui: Eui): Meter | undefined {
    const local = this.localIndex(indexOf(eui));
    return local < 0 ? undefined : this.meters[local];
  }

  spec(local: number): MeterSpec {
    return this.o.plan.meter(this.globalIndex(local));
  }

  async connect(): Promise<void> {
    this.connection = await connectInMemory([], {
      host: {
        // The host creates nothing: it finds the meter and notes that a frame reached it.
        resolve: (eui) => {
          const local = this.localIndex(indexOf(eui));
          if (local < 0) return undefined;
          this.addressed[local] = 1;
          return this.meters[local];
        },
      },
    });
    this.connection.transport.onAlert((a) => {
      for (const l of this.alertListeners) l(a.key.device, a.frame);
    });
    this.s1sp = new S1sp({ eui: this.o.s1sp.eui, signingKey: this.o.s1sp.key, channel: this.connection.transport, now: () => this.clock.date() });
  }

  /** Keeps the meters' clock with the DCC's. */
  follow(at: Date): void {
    const ms = at.getTime() - this.clock.now();
    if (ms > 0) this.clock.advance(ms);
  }

  private supported(device: DeviceRecord): ReadonlySet<string> {
    const key = device.type;
    let s = this.srvs.get(key);
    if (!s) this.srvs.set(key, (s = supportedSrvs(device)));
    return s;
  }

  private async sendCommand(device: DeviceRecord, command: Uint8Array, timeoutMs: number): Promise<DeviceReply> {
    if (!this.connection) return { kind: 'comms-failure', reason: 'the fleet is not connected' };
    try {
      const reply = await this.connection.transport.request(command, { responseTimeoutMs: timeoutMs });
      return { kind: 'response', frame: reply.frame };
    } catch (e) {
      return failure(e, device);
    }
  }

  private async sendSmets1(device: DeviceRecord, operation: Smets1Operation, timeoutMs: number): Promise<DeviceReply> {
    if (!this.s1sp) return { kind: 'comms-failure', reason: 'no S1SP is connected' };
    if (operation.srv !== '1.6') return { kind: 'comms-failure', reason: `the S1SP does not carry SRV ${operation.srv}` };
    try {
      const op = operationFromUpdatePaymentMode(operation.body as UpdatePaymentModeBody);
      const r = await this.s1sp.instruct(device.eui, op, { reference: operation.counter, responseTimeoutMs: timeoutMs });
      return { kind: 'response', frame: r.frame };
    } catch (e) {
      return failure(e, device);
    }
  }

  async close(): Promise<void> {
    await this.connection?.close();
    this.connection = null;
  }
}

function failure(e: unknown, device: DeviceRecord): DeviceReply {
  if (e instanceof TransportError && e.kind === 'timeout' && e.phase === 'response') return { kind: 'no-response', reason: e.message };
  return { kind: 'comms-failure', reason: `${device.eui}: ${(e as Error).message}` };
}
