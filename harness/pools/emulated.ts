/**
 * Emulated devices in this process: SMETS2+ ESMEs and GSMEs and SMETS1 meters behind an S1SP, all behind one
 * in-memory Link pair (one DeviceHost on the device end, one Transport on the DCC end), sharing one simulated
 * clock. The DCC reaches them only through the DevicePort this pool exposes.
 *
 * Scenario runs use a fresh pool per attempt with generated keys. A long-running service (`dcc serve`) gives it
 * a MeterStore: keys then derive from the store's seed and every meter's state is saved after each command it
 * handles and restored when it is provisioned again after a restart.
 */
import { deriveKeyPair, generateKeyPair, type KeyPair } from '../../protocol/smki/keys.ts';
import { connectInMemory, type Connection } from '../../devices/connect.ts';
import { SimClock } from '../../devices/clock.ts';
import { type ExecutionKind, expectedChanges, operationOf } from '../../devices/expected-changes.ts';
import type { Meter } from '../../devices/meter.ts';
import { Smets1Meter } from '../../devices/smets1/meter.ts';
import { type DeviceKeySource, GeneratedKeySource, SeededKeySource } from '../../devices/smets2/keys.ts';
import { type MeterDefect, Smets2Meter } from '../../devices/smets2/meter.ts';
import { TrustAnchors } from '../../devices/smets2/trust-anchors.ts';
import { supportedUseCases } from '../../devices/smets2/use-cases.ts';
import type { FaultRule } from '../../devices/transports/faults.ts';
import { classifyFrame } from '../../devices/transports/frame-keys.ts';
import { TransportError } from '../../devices/transports/transport.ts';
import type { DeviceTrustAnchors, InitialDeviceState } from '../../emulator/admin.ts';
import type { DevicePort, DeviceReply, Smets1Operation } from '../../emulator/ports.ts';
import type { DeviceRecord } from '../../emulator/registry.ts';
import { operationFromUpdatePaymentMode, S1sp } from '../../emulator/s1sp.ts';
import type { UpdatePaymentModeBody } from '../../protocol/duis/index.ts';
import { useCaseByName } from '../../protocol/gbcs/message-codes.ts';
import { type Eui, parseEui } from '../../protocol/smki/eui.ts';
import type { DevicePlan, DevicePool, LinkFault } from '../engine/device-pool.ts';
import type { MeterStore } from './meter-store.ts';

/** The S1SP's EUI in emulated worlds. */
export const EMULATED_S1SP = parseEui('90B3D51F30060001');

/** The most lines kept of each meter's log (its commands, answers and alerts, as hex). */
export const DEVICE_LOG_LINES = 1000;

export class EmulatedPool implements DevicePool {
  readonly target = 'emulated';
  readonly port: DevicePort;
  readonly provisioner;
  private clock = new SimClock();
  private readonly keys: DeviceKeySource;
  private readonly plans = new Map<Eui, DevicePlan>();
  private readonly store: MeterStore | null;
  /** Each hosted meter's state as last stored (so the follow tick writes only what changed). */
  private readonly stored = new Map<Eui, string>();
  private readonly meters = new Map<Eui, Meter>();
  private readonly records = new Map<Eui, DeviceRecord>();
  private readonly log = new Map<Eui, string[]>();
  private readonly alertListeners = new Set<(device: Eui, frame: Uint8Array) => void>();
  private readonly s1spKey: KeyPair;
  private connection: Connection | null = null;
  private s1sp: S1sp | null = null;

  /** The state devices start in when neither a scenario plan nor their registration names one. */
  private readonly defaultInitial: InitialDeviceState;
  /** Where a pool that is not planned (a service) takes its meters' start time from on first use. */

  /** Seeded meter defects (negative controls only). */
  private readonly defects: ReadonlySet<MeterDefect>;

  constructor(options: { store?: MeterStore; defaultInitial?: InitialDeviceState; defects?: readonly MeterDefect[] } = {}) {
    this.store = options.store ?? null;
    this.defects = new Set(options.defects ?? []);
    this.defaultInitial = options.defaultInitial ?? {};
    const seed = this.store?.seed();
    this.keys = seed ? new SeededKeySource(seed) : new GeneratedKeySource();
    this.s1spKey = seed ? deriveKeyPair(seed, 'smets-hil/s1sp') : generateKeyPair();
    this.port = {
      sendCommand: (device, command, timeoutMs) => this.sendCommand(device, command, timeoutMs),
      sendSmets1: (device, operation, timeoutMs) => this.sendSmets1(device, operation, timeoutMs),
      supportedSrvs: (device) => supportedSrvs(device),
      onAlert: (listener) => {
        this.alertListeners.add(listener);
        return () => this.alertListeners.delete(listener);
      },
      state: (eui) => this.meters.get(eui)?.snapshot(),
    };
    this.provisioner = {
      provision: (record: DeviceRecord, anchors: DeviceTrustAnchors, initial?: InitialDeviceState, dccNow?: Date, fresh?: boolean) => this.provision(record, anchors, initial, dccNow, fresh),
    };
  }

  async plan(devices: readonly DevicePlan[], start: Date): Promise<void> {
    for (const d of devices) this.plans.set(d.eui, d);
    await this.connect(start);
  }

  /** Brings up the link, host and S1SP with the meters' clock starting at `start`. */
  async connect(start: Date): Promise<void> {
    this.clock = new SimClock(start);
    this.connection = await connectInMemory([]);
    this.connection.transport.onAlert((a) => this.alert(a.frame));
    const firstId = BigInt(this.store?.get('s1sp-next-id') ?? '1');
    this.s1sp = new S1sp({ eui: EMULATED_S1SP, signingKey: this.s1spKey.privateKey, channel: this.connection.transport, now: () => this.clock.date(), firstId });
  }

  /**
   * Moves the meters' clock to `at` if it is not earlier (a service keeps its meters in step with the DCC's clock).
   * At the same time too: a change restored after a restart may already be due, and its timer fires only on an
   * advance, which a frozen DCC clock would otherwise never give it.
   */
  follow(at: Date): void {
    if (at.getTime() >= this.clock.now()) this.advance(at.getTime() - this.clock.now());
  }

  private note(eui: Eui, line: string): void {
    let lines = this.log.get(eui);
    if (!lines) this.log.set(eui, (lines = []));
    lines.push(`${this.clock.date().toISOString()} ${line}`);
    // A scenario's evidence needs the recent lines; a service running for weeks must not keep every command.
    if (lines.length > DEVICE_LOG_LINES) lines.splice(0, lines.length - DEVICE_LOG_LINES);
  }

  private alert(frame: Uint8Array): void {
    const device = classifyFrame(frame)?.device ?? null;
    if (device) this.note(device, `alert ${Buffer.from(frame).toString('hex').toUpperCase()}`);
    for (const l of this.alertListeners) l(device ?? ('0000000000000000' as Eui), frame);
  }

  private async provision(record: DeviceRecord, anchors: DeviceTrustAnchors, requested?: InitialDeviceState, dccNow?: Date, fresh = false) {
    // The meters' clock starts at the DCC's (restored with its store after a restart), not at the host's.
    if (!this.connection) await this.connect(dccNow ?? new Date());
    const cell = (k: { eui: Eui; ds: import('node:crypto').KeyObject | null; ka: import('node:crypto').KeyObject | null }) => ({ eui: k.eui, ...(k.ds ? { ds: k.ds } : {}), ...(k.ka ? { ka: k.ka } : {}) });
    const trust = () =>
      new TrustAnchors({
        supplier: cell(anchors.supplier),
        accessControlBroker: cell(anchors.acb),
        ...(anchors.networkOperator ? { networkOperator: cell(anchors.networkOperator) } : {}),
      });
    const before = this.records.get(record.eui);
    const meterNow = this.meters.get(record.eui);
    this.records.set(record.eui, record);
    // A registration the DCC takes anew makes a new meter, whatever is held from one its store lost.
    if (meterNow && before && sameDevice(before, record) && !fresh) {
      // A registration update (supplier, network operator, SMI status) is not a new meter: its state, counters
      // included, stay. The keys it trusts follow a change of supplier or network operator; otherwise it only
      // gains keys it had none for (a supplier certified after the meter was registered). A revocation in SMKI
      // since does not reach into a meter. The anchors are part of its saved state, so they are stored now.
      if (meterNow instanceof Smets2Meter) {
        const partiesChanged = before.supplier !== record.supplier || before.networkOperator !== record.networkOperator;
        const anchors = partiesChanged ? trust() : meterNow.trustAnchors.filledFrom(trust());
        if (anchors !== meterNow.trustAnchors) {
          meterNow.setTrustAnchors(anchors);
          this.save(record.eui, meterNow);
        }
      }
      this.note(record.eui, `registration updated: supplier ${record.supplier}, ${record.smiStatus}`);
    } else {
      const plan = this.plans.get(record.eui)?.initial ?? requested ?? this.defaultInitial;
      const initial = { paymentMode: plan.paymentMode ?? 'credit', ...(plan.meterBalance !== undefined ? { meterBalance: plan.meterBalance } : {}) } as const;
      const meter: Meter =
        record.type === 'SMETS1'
          ? new Smets1Meter({ eui: record.eui, variant: record.fuel === 'gas' ? 'gsme' : 'esme', clock: this.clock, initial, s1sp: { eui: EMULATED_S1SP, publicKey: this.s1spKey.publicKey } })
          : new Smets2Meter({ eui: record.eui, variant: record.type === 'GSME' ? 'gsme' : record.twin ? 'esme-twin' : 'esme', clock: this.clock, initial, keys: this.keys, trustAnchors: trust(), defects: this.defects });
      const saved = fresh ? undefined : this.store?.load(record.eui);
      if (saved) {
        try {
          meter.importState(saved);
        } catch (e) {
          throw new Error(`the meter store ${this.store!.path} holds a damaged state for ${(e as Error).message}`);
        }
      } else {
        // Stored from the start, so a restart before its first command brings back the state it was registered in.
        this.save(record.eui, meter);
      }
      meterNow?.setOutput(null);
      this.meters.set(record.eui, meter);
      this.connection!.host.add(this.store ? persisted(meter, (state) => this.save(meter.eui, meter, state)) : meter);
      this.note(record.eui, saved ? `restored ${record.type}, ${meter.paymentMode}` : `provisioned ${record.type}${record.twin ? ' (twin)' : ''} for supplier ${record.supplier}, ${initial.paymentMode}`);
    }
    if (record.type === 'SMETS1') return null;
    const keys = this.keys.keysFor(record.eui);
    return { ds: keys.ds.publicKey, ka: keys.ka.publicKey };
  }

  private async sendCommand(device: DeviceRecord, command: Uint8Array, timeoutMs: number): Promise<DeviceReply> {
    if (!this.connection) return { kind: 'comms-failure', reason: 'no devices are connected' };
    this.note(device.eui, `command ${Buffer.from(command).toString('hex').toUpperCase()}`);
    try {
      const reply = await this.connection.transport.request(command, { responseTimeoutMs: timeoutMs });
      this.note(device.eui, `response ${Buffer.from(reply.frame).toString('hex').toUpperCase()}`);
      return { kind: 'response', frame: reply.frame };
    } catch (e) {
      return transportFailure(e, device, (l) => this.note(device.eui, l));
    }
  }

  private async sendSmets1(device: DeviceRecord, operation: Smets1Operation, timeoutMs: number): Promise<DeviceReply> {
    if (!this.s1sp) return { kind: 'comms-failure', reason: 'no S1SP is connected' };
    if (operation.srv !== '1.6') return { kind: 'comms-failure', reason: `the S1SP does not carry SRV ${operation.srv}` };
    const op = operationFromUpdatePaymentMode(operation.body as UpdatePaymentModeBody);
    this.note(device.eui, `S1SP instruction ${JSON.stringify(op, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    try {
      const pending = this.s1sp.instruct(device.eui, op, { reference: operation.counter, responseTimeoutMs: timeoutMs });
      // The instruction id is used now, answered or not: a restarted S1SP must not reuse it.
      this.store?.set('s1sp-next-id', String(this.s1sp.peekNextId()));
      const r = await pending;
      this.note(device.eui, `S1SP response ${r.status}`);
      return { kind: 'response', frame: r.frame };
    } catch (e) {
      return transportFailure(e, device, (l) => this.note(device.eui, l));
    }
  }

  snapshot(eui: Eui): unknown {
    return this.meters.get(eui)?.snapshot();
  }

  advance(ms: number): void {
    const fired = this.clock.advance(ms);
    // Future-dated changes may have executed: keep the stored state in step (only what changed, in one write).
    // A meter's state changes by the frames it handles (stored as it handles them) and its timers alone.
    if (!this.store || fired === 0) return;
    const changed = [...this.meters].map(([eui, m]) => [eui, m.exportState()] as const).filter(([eui, state]) => this.stored.get(eui) !== state);
    if (changed.length === 0) return;
    this.store.transaction(() => {
      for (const [eui, state] of changed) this.store!.store(eui, state);
    });
    for (const [eui, state] of changed) this.stored.set(eui, state);
  }

  /** Stores a meter's state (exported now unless given) if it differs from what was last stored. */
  private save(eui: Eui, meter: Meter, state = meter.exportState()): void {
    if (!this.store || this.stored.get(eui) === state) return;
    this.store.store(eui, state);
    this.stored.set(eui, state);
  }

  logs(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [eui, lines] of this.log) out[this.plans.get(eui)?.alias ?? eui] = lines;
    return out;
  }

  allowedChanges(useCase: string | null, _srv: string, device: Eui, source?: Eui, execution?: ExecutionKind): readonly string[] {
    return allowedChangesOf(useCase, this.records.get(device), device, source, execution);
  }

  injectFault(fault: LinkFault): void {
    if (!this.connection) throw new Error('no link to inject a fault on');
    this.connection.pair.faults.add(faultRuleOf(fault));
  }

  async close(): Promise<void> {
    await this.connection?.close();
    this.connection = null;
  }
}

/**
 * The fields a meter may change for a step of this use case (null: a refused request), whichever pool it lives
 * in: what the use case writes for the party that sent it (for SMETS1, the S1SP).
 */
export function allowedChangesOf(useCase: string | null, record: DeviceRecord | undefined, device: Eui, source?: Eui, execution?: ExecutionKind): readonly string[] {
  const from = record?.type === 'SMETS1' ? EMULATED_S1SP : (source ?? record?.supplier ?? device);
  if (useCase === 'advance') {
    // Time passing on a meter whose pending changes cannot be read (the engine allows what the changes that fell
    // due write when it can see them): whatever may be pending, a switch to prepayment (which writes the
    // prepayment settings), a configuration, a tariff.
    return [...new Set(['payment-mode', 'prepayment-configuration', 'tariff'].flatMap((op) => expectedChanges(op, { source: from, phase: 'execution', target: 'prepayment' })))];
  }
  if (useCase === 'solr-credit') {
    return [...new Set((['now', 'future', 'cancel'] as const).flatMap((execution) => expectedChanges('ECS02', { source: from, execution, target: 'credit' })))];
  }
  if (useCase === null) return ['securityLog', 'eventLog', `counters.${from}`];
  try {
    operationOf(useCase);
  } catch {
    return [];
  }
  const kinds: readonly ExecutionKind[] = execution ? [execution] : ['now', 'future', 'cancel'];
  return [...new Set(kinds.flatMap((kind) => expectedChanges(useCase, { source: from, execution: kind })))];
}

/** A scenario's `link-fault` as a link fault rule (a damaged MAC: the Command's last octet). */
export function faultRuleOf(fault: LinkFault): FaultRule {
  return {
    action: fault.action,
    direction: fault.direction,
    times: fault.times,
    ...(fault.part === 'mac' ? { corrupt: flipLastBit } : {}),
    ...(fault.delayMs !== undefined ? { delayMs: fault.delayMs } : {}),
  };
}

/** Damages the last octet of a frame: the ACB MAC of a Command. */
function flipLastBit(frame: Uint8Array): Uint8Array {
  const out = Uint8Array.from(frame);
  if (out.length > 0) out[out.length - 1] = out[out.length - 1]! ^ 0x01;
  return out;
}

/**
 * The meter as the host sees it, storing its state after every frame it handles. What it sends in answer leaves
 * only once that state is stored: if the store refuses the write (disk full, locked), the meter is put back as it
 * was and the frame goes unanswered, as if it had never arrived, rather than answered and then forgotten.
 */
function persisted(meter: Meter, save: (state: string) => void) {
  let sink: ((frame: Uint8Array) => void) | null = null;
  return {
    eui: meter.eui,
    handleFrame(frame: Uint8Array) {
      const before = meter.exportState();
      const held: Uint8Array[] = [];
      meter.setOutput((f) => held.push(f));
      try {
        meter.handleFrame(frame);
        save(meter.exportState());
      } catch (e) {
        meter.importState(before);
        throw e;
      } finally {
        meter.setOutput(sink);
      }
      for (const f of held) sink?.(f);
    },
    setOutput: (s: ((frame: Uint8Array) => void) | null) => {
      sink = s;
      meter.setOutput(s);
    },
  };
}

function transportFailure(e: unknown, device: DeviceRecord, note: (line: string) => void): DeviceReply {
  if (e instanceof TransportError) {
    note(`transport ${e.kind}: ${e.message}`);
    return e.kind === 'timeout' && e.phase === 'response' ? { kind: 'no-response', reason: e.message } : { kind: 'comms-failure', reason: e.message };
  }
  note(`error: ${(e as Error).message}`);
  return { kind: 'comms-failure', reason: `${device.eui}: ${(e as Error).message}` };
}


/** SRVs a device implements: the use cases its family supports (SMETS1: what the S1SP carries). */
export function supportedSrvs(device: DeviceRecord): ReadonlySet<string> {
  if (device.type === 'SMETS1') return new Set(['1.6']);
  const family = device.type === 'GSME' ? 'gsme' : 'esme';
  return new Set(supportedUseCases(family).flatMap((name) => useCaseByName(name)?.srv ?? []));
}

/** The same physical kind of meter: a registration update keeps it; anything else is a new meter under that EUI. */
function sameDevice(a: DeviceRecord, b: DeviceRecord): boolean {
  return a.type === b.type && a.twin === b.twin && a.fuel === b.fuel;
}
