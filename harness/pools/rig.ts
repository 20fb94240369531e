/**
 * A DevicePool over a rig (devices/rig): the scenario's devices are leased rig devices reached over their own
 * links (serial lines to emulator processes or real meters), not objects in this process. For each world the
 * pool allocates a rig device per declared device (type, twin, fuel, required capabilities), re-creates each
 * emulated one with the scenario's EUI, start state and trust anchors (a CONTROL provision over its line), and
 * returns the public keys the mock DCC certifies. Emulators push their state before every answer, so
 * snapshots are read from here; moving their clocks waits for them (the engine reads state right after).
 *
 * Infrastructure failures: no free device, a failed health check, a link that fails mid-scenario: the
 * scenario ends with verdict error (InfrastructureError), never fail.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { ExecutionKind } from '../../devices/expected-changes.ts';
import { loadRig, type Rig, RigFileError } from '../../devices/rig/inventory.ts';
import { type DeviceWant, type RigDeviceRuntime, RigSession, type RigSessionOptions, RigUnavailableError } from '../../devices/rig/session.ts';
import { keyToWire, type WireAnchors } from '../../devices/serve/control.ts';
import { deriveDeviceKeys } from '../../devices/smets2/keys.ts';
import type { MeterDefect } from '../../devices/smets2/meter.ts';
import { TransportError } from '../../devices/transports/transport.ts';
import { frameTarget } from '../../devices/transports/frame-keys.ts';
import { NotServedError } from '../../devices/transports/zigbee/not-served.ts';
import type { DeviceTrustAnchors, InitialDeviceState, PartyKeys } from '../../emulator/admin.ts';
import type { DevicePort, DeviceReply, Smets1Operation } from '../../emulator/ports.ts';
import type { DeviceRecord } from '../../emulator/registry.ts';
import { operationFromUpdatePaymentMode, S1sp } from '../../emulator/s1sp.ts';
import type { UpdatePaymentModeBody } from '../../protocol/duis/index.ts';
import { type Eui } from '../../protocol/smki/eui.ts';
import { deriveKeyPair, type KeyPair } from '../../protocol/smki/keys.ts';
import { CliExit, EXIT } from '../cli-exit.ts';
import type { DevicePlan, DevicePool, LinkFault } from '../engine/device-pool.ts';
import { InfrastructureError } from '../engine/failures.ts';
import { allowedChangesOf, EMULATED_S1SP, faultRuleOf, supportedSrvs } from './emulated.ts';

export class RigPool implements DevicePool {
  readonly target: string;
  readonly port: DevicePort;
  readonly provisioner;
  private readonly plans = new Map<Eui, DevicePlan>();
  private readonly byEui = new Map<Eui, RigDeviceRuntime>();
  private readonly records = new Map<Eui, DeviceRecord>();
  private readonly log = new Map<string, string[]>();
  private readonly alertListeners = new Set<(device: Eui, frame: Uint8Array) => void>();
  private readonly s1spAlertListeners = new Set<(a: { frame: Uint8Array }) => void>();
  private readonly unsubscribe: (() => void)[] = [];
  private s1sp: S1sp | null = null;
  private start = new Date(0);
  private advancedMs = 0;
  private following = false;
  /** The first infrastructure failure of this world, raised at the engine's next synchronous question. */
  private broken: string | null = null;
  /** Device states were read in this turn of the event loop. */
  private fresh = false;

  constructor(
    private readonly session: RigSession,
    private readonly o: { defects?: readonly MeterDefect[]; s1spKey: KeyPair },
  ) {
    this.target = session.target;
    this.port = {
      sendCommand: (device, command, timeoutMs) => this.sendCommand(device, command, timeoutMs),
      sendSmets1: (device, operation, timeoutMs) => this.sendSmets1(device, operation, timeoutMs),
      supportedSrvs: (device) => supportedSrvs(device),
      onAlert: (listener) => {
        this.alertListeners.add(listener);
        return () => this.alertListeners.delete(listener);
      },
      state: (eui) => this.byEui.get(eui)?.state,
    };
    this.provisioner = { provision: (record: DeviceRecord, anchors: DeviceTrustAnchors, initial?: InitialDeviceState) => this.provision(record, anchors, initial) };
  }

  async plan(devices: readonly DevicePlan[], start: Date): Promise<void> {
    this.start = start;
    const wants: DeviceWant[] = devices.map((d) => ({ alias: d.alias, type: d.type, twin: d.twin, fuel: d.fuel, requires: d.requires, eui: d.eui }));
    let allocated: Map<string, RigDeviceRuntime>;
    try {
      allocated = await this.session.allocate(wants);
    } catch (e) {
      throw new InfrastructureError((e as Error).message);
    }
    for (const d of devices) {
      const r = allocated.get(d.alias)!;
      this.plans.set(d.eui, d);
      this.byEui.set(d.eui, r);
      r.log.line(`scenario device ${d.alias} (${d.eui})`);
      this.unsubscribe.push(
        r.transport.onAlert((a) => this.alert(d.eui, a.frame)),
        r.transport.link.onState((s, e) => {
          if (s === 'failed') this.fail(`${r.spec.id} (${d.alias}): the link failed: ${e?.message ?? 'disconnected'}`);
        }),
      );
    }
    const channel = {
      request: (frame: Uint8Array, opts?: { responseTimeoutMs?: number }) => {
        const target = frameTarget(frame);
        const r = target ? this.byEui.get(target) : undefined;
        if (!r) return Promise.reject(new TransportError('link-failed', `no rig device for ${target ?? 'an unreadable frame'}`));
        return r.transport.request(frame, opts ?? {});
      },
      onAlert: (listener: (a: { frame: Uint8Array }) => void) => {
        this.s1spAlertListeners.add(listener);
        return () => this.s1spAlertListeners.delete(listener);
      },
    };
    this.s1sp = new S1sp({ eui: EMULATED_S1SP, signingKey: this.o.s1spKey.privateKey, channel, now: () => new Date(this.start.getTime() + this.advancedMs) });
  }

  private note(eui: Eui, line: string): void {
    const alias = this.plans.get(eui)?.alias ?? eui;
    let lines = this.log.get(alias);
    if (!lines) this.log.set(alias, (lines = []));
    lines.push(`${new Date(this.start.getTime() + this.advancedMs).toISOString()} ${line}`);
    this.byEui.get(eui)?.log.line(line);
  }

  private fail(reason: string): void {
    this.broken ??= reason;
  }

  private alert(eui: Eui, frame: Uint8Array): void {
    this.note(eui, `alert ${Buffer.from(frame).toString('hex').toUpperCase()}`);
    const forward = () => {
      for (const l of this.alertListeners) l(eui, frame);
      for (const l of this.s1spAlertListeners) l({ frame });
    };
    // A real meter alerts on what it did by itself (a future-dated switch falling due): its state is read again
    // before anyone hears of the alert, as after a command, so a step that waited for the alert sees the change.
    const r = this.byEui.get(eui);
    if (r && !r.emulated && r.readState) void this.readRealState(r, eui).then(forward);
    else forward();
  }

  private async provision(record: DeviceRecord, anchors: DeviceTrustAnchors, requested?: InitialDeviceState): Promise<{ ds: KeyObject; ka: KeyObject } | null> {
    const r = this.byEui.get(record.eui);
    if (!r) throw new InfrastructureError(`${record.eui} was not planned on the rig`);
    this.records.set(record.eui, record);
    if (!r.emulated) {
      this.note(record.eui, `real meter ${r.spec.id}: keys from its certificates`);
      r.state = undefined;
      await this.readRealState(r, record.eui);
      if (record.type === 'SMETS1') return null;
      try {
        return r.hardwareKeys(this.session.rig);
      } catch (e) {
        // The rig file names key files that are not there (or not keys): the rig's fault, not the meter's.
        throw new InfrastructureError((e as Error).message);
      }
    }
    const plan = this.plans.get(record.eui)?.initial ?? requested ?? {};
    const cell = (p: PartyKeys) => ({ eui: p.eui, ...(p.ds ? { ds: keyToWire(p.ds) } : {}), ...(p.ka ? { ka: keyToWire(p.ka) } : {}) });
    const wire: WireAnchors = {
      supplier: cell(anchors.supplier),
      acb: cell(anchors.acb),
      ...(anchors.networkOperator ? { networkOperator: cell(anchors.networkOperator) } : {}),
      s1sp: { eui: EMULATED_S1SP, publicKey: keyToWire(this.o.s1spKey.publicKey) },
    };
    let result;
    try {
      result = await r.control!.provision({
        eui: record.eui,
        type: record.type,
        twin: record.twin,
        fuel: record.fuel,
        initial: { ...(plan.paymentMode ? { paymentMode: plan.paymentMode } : {}), ...(plan.meterBalance !== undefined ? { meterBalance: plan.meterBalance } : {}) },
        clock: new Date(this.start.getTime() + this.advancedMs).toISOString(),
        anchors: wire,
        defects: [...(this.o.defects ?? [])],
      });
    } catch (e) {
      throw new InfrastructureError(`${r.spec.id}: provisioning failed: ${(e as Error).message}`);
    }
    this.note(record.eui, `provisioned ${record.type}${record.twin ? ' (twin)' : ''} on ${r.spec.id} for supplier ${record.supplier}, ${plan.paymentMode ?? 'credit'}`);
    const keys = result.identity.keys;
    if (!keys) return null;
    const out = { ds: createPublicKey({ key: Buffer.from(keys.ds, 'base64'), format: 'der', type: 'spki' }), ka: createPublicKey({ key: Buffer.from(keys.ka, 'base64'), format: 'der', type: 'spki' }) };
    // A device started with another seed would fail every command later, obscurely: say so now.
    const seed = r.spec.keys && 'seed' in r.spec.keys ? r.spec.keys.seed : null;
    if (seed && !deriveDeviceKeys(seed, record.eui).ds.publicKey.equals(out.ds)) throw new InfrastructureError(`${r.spec.id}: its keys do not derive from the rig's seed for ${record.eui}`);
    return out;
  }

  private async sendCommand(device: DeviceRecord, command: Uint8Array, timeoutMs: number): Promise<DeviceReply> {
    const r = this.byEui.get(device.eui);
    if (!r) return { kind: 'comms-failure', reason: `no rig device for ${device.eui}` };
    this.note(device.eui, `command ${Buffer.from(command).toString('hex').toUpperCase()}`);
    try {
      const reply = await r.transport.request(command, { responseTimeoutMs: timeoutMs });
      this.note(device.eui, `response ${Buffer.from(reply.frame).toString('hex').toUpperCase()}`);
      return { kind: 'response', frame: reply.frame };
    } catch (e) {
      return this.failure(e, device);
    } finally {
      // Before the DCC has the answer: the engine's snapshots follow it.
      await this.readRealState(r, device.eui);
    }
  }

  /**
   * A real meter's observable state, read after everything that may change it (the engine's snapshots are
   * synchronous). What cannot be read leaves the state unknown: the meter's verdicts then rest on its signed
   * responses alone, as for a real meter on a serial line.
   */
  private async readRealState(r: RigDeviceRuntime, eui: Eui): Promise<void> {
    if (r.emulated || !r.readState) return;
    try {
      const state = await r.readState();
      r.observe(state, r.stateVersion + 1);
      this.note(eui, `read ${JSON.stringify(state)}`);
    } catch (e) {
      r.observe(undefined, r.stateVersion + 1);
      if (e instanceof NotServedError) {
        // Not tried again on this device: a meter that does not serve the read would cost its timeout per command.
        r.readState = null;
        this.note(eui, `state unreadable, not read again: ${(e as Error).message}`);
      } else {
        // A passing failure (a timeout while the meter was busy, the radio): the next read may well work.
        this.note(eui, `state unreadable this time: ${(e as Error).message}`);
      }
    }
  }

  private async sendSmets1(device: DeviceRecord, operation: Smets1Operation, timeoutMs: number): Promise<DeviceReply> {
    if (!this.s1sp) return { kind: 'comms-failure', reason: 'no S1SP is connected' };
    if (operation.srv !== '1.6') return { kind: 'comms-failure', reason: `the S1SP does not carry SRV ${operation.srv}` };
    const op = operationFromUpdatePaymentMode(operation.body as UpdatePaymentModeBody);
    this.note(device.eui, `S1SP instruction ${JSON.stringify(op, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    try {
      const res = await this.s1sp.instruct(device.eui, op, { reference: operation.counter, responseTimeoutMs: timeoutMs });
      this.note(device.eui, `S1SP response ${res.status}`);
      return { kind: 'response', frame: res.frame };
    } catch (e) {
      return this.failure(e, device);
    }
  }

  private failure(e: unknown, device: DeviceRecord): DeviceReply {
    const message = (e as Error).message;
    this.note(device.eui, `${e instanceof TransportError ? `transport ${e.kind}` : 'error'}: ${message}`);
    if (e instanceof TransportError && e.kind === 'timeout' && e.phase === 'response') return { kind: 'no-response', reason: message };
    // The link, not the device, failed: the DCC answers comms failure, and the scenario ends in error.
    this.fail(`${this.byEui.get(device.eui)?.spec.id ?? device.eui}: ${message}`);
    return { kind: 'comms-failure', reason: message };
  }

  snapshot(eui: Eui): unknown {
    if (this.broken) throw new InfrastructureError(`rig ${this.session.rig.name}: ${this.broken}`);
    // The engine asks for every device in one synchronous burst: one exchange with all of them serves it.
    if (!this.fresh) {
      try {
        this.session.snapshotSync([...new Set(this.byEui.values())]);
      } catch (e) {
        this.fail((e as Error).message);
        throw new InfrastructureError(`rig ${this.session.rig.name}: ${(e as Error).message}`);
      }
      this.fresh = true;
      setImmediate(() => (this.fresh = false));
    }
    return this.byEui.get(eui)?.state;
  }

  advance(ms: number): void {
    const runtimes = [...new Set(this.byEui.values())];
    const real = runtimes.filter((r) => !r.emulated);
    if (real.length) throw new InfrastructureError(`the clocks of real meters cannot be advanced (${real.map((r) => r.spec.id).join(', ')})`);
    try {
      this.session.advanceSync(runtimes, ms);
    } catch (e) {
      if (e instanceof RigUnavailableError) throw new InfrastructureError(e.message);
      throw e;
    }
    this.advancedMs += ms;
  }

  /**
   * Emulated devices are moved to `at` in the background, one move at a time (a move in flight is caught up by
   * the next); real meters keep their own time. The S1SP's clock moves with them.
   */
  follow(at: Date): void {
    if (!this.s1sp) return; // not planned: the world's start is not known yet
    const behind = at.getTime() - (this.start.getTime() + this.advancedMs);
    if (behind <= 0 || this.following) return;
    this.advancedMs += behind;
    const emulated = [...new Set(this.byEui.values())].filter((r) => r.emulated && r.control);
    if (!emulated.length) return;
    this.following = true;
    void Promise.all(emulated.map((r) => r.control!.advance(behind)))
      .catch((e: Error) => this.fail(`moving the clocks of emulated devices: ${e.message}`))
      .finally(() => (this.following = false));
  }

  logs(): Record<string, string[]> {
    return Object.fromEntries(this.log);
  }

  allowedChanges(useCase: string | null, _srv: string, device: Eui, source?: Eui, execution?: ExecutionKind): readonly string[] {
    return allowedChangesOf(useCase, this.records.get(device), device, source, execution);
  }

  injectFault(fault: LinkFault): void {
    const rule = faultRuleOf(fault);
    // One plan per world, shared by its device links: "the next frame" means the next on any of them.
    const plans = new Set([...this.byEui.values()].map((r) => r.faults));
    const shared = [...plans][0];
    if (!shared) throw new InfrastructureError('no rig device to inject a fault on');
    for (const p of plans) if (p !== shared) p.shareRulesOf(shared);
    shared.add(rule);
  }

  async close(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    this.session.free(new Set(this.byEui.values()));
  }
}


export interface RigPools {
  /** The rig as loaded and checked. */
  rig: Rig;
  pool: () => Promise<DevicePool>;
  target: string;
  /** The rig's session (leases, devices, logs, recordings), opened with the pools. */
  readonly session: RigSession;
  close(): Promise<void>;
}

/**
 * Pools for `smets-hil run --rig FILE`: one rig session for the whole run (devices leased once, emulators
 * started once), a fresh RigPool per scenario attempt over it.
 */
/** The key the S1SP of a rig signs its instructions with: derived from the rig's name, so a recording can be checked. */
export function rigS1spKey(rigName: string): KeyPair {
  return deriveKeyPair(`smets-hil/rig/${rigName}`, 'smets-hil/s1sp');
}

export function rigPools(file: string, o: { defects?: readonly MeterDefect[] } & RigSessionOptions = {}): RigPools {
  let rig;
  try {
    rig = loadRig(file);
  } catch (e) {
    if (e instanceof RigFileError) throw new CliExit(EXIT.usage, `rig file is invalid:\n${e.message}`);
    throw e;
  }
  // Opened now, so a lease, log or recording folder that cannot be used stops the run before its first scenario.
  const session = RigSession.open(rig, o);
  const s1spKey = rigS1spKey(rig.name);
  return {
    rig,
    target: `rig:${file}`,
    session,
    async pool() {
      session.ref();
      const pool = new RigPool(session, { s1spKey, ...(o.defects ? { defects: o.defects } : {}) });
      const close = pool.close.bind(pool);
      let closed = false;
      pool.close = async () => {
        await close();
        if (!closed) session.unref();
        closed = true;
      };
      return pool;
    },
    async close() {
      await session.close();
    },
  };
}
