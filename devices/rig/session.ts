/**
 * A run's hold on a rig: which devices it leased, their links (in a link host process), their emulator
 * processes, logs and recordings. Devices stay leased, connected and (for process-serial) running across
 * scenarios; each scenario allocates the devices its world needs from them (leasing more when needed),
 * and frees them when it ends. Closing the session stops its emulators and releases its leases; if the
 * harness dies instead, its emulators follow it out and its leases lapse (its pid is gone).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Link } from '../transports/link.ts';
import { LinkHost, type RemoteSerialLink } from '../transports/serial/remote-link.ts';
import { Transport } from '../transports/transport.ts';
import { ControlClient } from '../serve/control-client.ts';
import { encodeControl } from '../serve/control.ts';
import { DeviceLogs, type DeviceLog } from './device-log.ts';
import { FaultLink, FaultPlan } from './fault-link.ts';
import { probe, powerCycle } from './health.ts';
import { durationMs, loadRig, type Rig, type RigDevice, rigPath } from './inventory.ts';
import type { ZigbeeRigParams } from './zigbee-params.ts';
import { currentHolder, type Holder, type LeaseStore, LeaseStore as Store } from './leases.ts';
import { EmulatorUnavailableError, type EmulatorProcess, type RefControl, startEmulatorProcess } from './process-device.ts';
import { FrameRecorder, RecordingLink } from './recording.ts';

/** What a scenario asks of a device. */
export interface DeviceWant {
  alias: string;
  type: 'ESME' | 'GSME' | 'SMETS1';
  twin: boolean;
  fuel: 'electricity' | 'gas';
  requires: readonly string[];
  /** The world's EUI for the device: a real meter stands in only for its own EUI (emulated ones take any). */
  eui?: string;
}

export class RigUnavailableError extends Error {
  override readonly name = 'RigUnavailableError';
}

export interface RigSessionOptions {
  leaseDir?: string;
  holder?: Holder;
  logDir?: string;
  /** Record every frame into this folder (overrides the rig file). */
  recordDir?: string;
  /** Serial link tuning (tests). */
  link?: { ackTimeoutMs?: number; retries?: number };
  /** Re-check a device marked unhealthy after this long (default 5 min). */
  recheckAfterMs?: number;
  store?: LeaseStore;
  /**
   * Opens the link to a ZigBee rig device from its inventory parameters (the ZigBee transport's business;
   * without it, ZigBee devices are passed over with a reason, not marked unhealthy). A RigUnavailableError from
   * it also passes the device over unmarked (see devices/rig/zigbee-links.ts); other errors fail its health check.
   */
  zigbee?: (params: ZigbeeRigParams, device: RigDevice) => Promise<Link>;
}

/** A leased device, up and connected. */
export class RigDeviceRuntime {
  transport!: Transport;
  control: ControlClient | null = null;
  serial: RemoteSerialLink | null = null;
  emulator: (EmulatorProcess & Partial<RefControl>) | null = null;
  state: unknown = undefined;
  stateVersion = -1;
  /**
   * For a real meter: what can be read of its state over its link (a ZigBee ESME's payment mode, from the
   * Prepayment cluster), or null when nothing can (a real meter on a serial line).
   */
  readState: (() => Promise<Record<string, unknown>>) | null = null;
  inUse = false;
  readonly faults = new FaultPlan();

  constructor(
    readonly spec: RigDevice,
    readonly log: DeviceLog,
  ) {}

  get emulated(): boolean {
    return this.spec.kind === 'emulated';
  }

  /** Takes a state from the device unless a newer one is already here. */
  observe(state: unknown, version: number): void {
    if (version < this.stateVersion) return;
    this.stateVersion = version;
    this.state = state;
  }

  /** The public keys of a real meter, from the certificate or key files the inventory names. */
  hardwareKeys(rig: Rig): { ds: KeyObject; ka: KeyObject } | null {
    const k = this.spec.keys;
    if (!k || !('ds' in k)) return null;
    const load = (usage: 'ds' | 'ka') => {
      const file = rigPath(rig, k[usage]);
      try {
        return createPublicKey(readFileSync(file));
      } catch (e) {
        const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
        throw new Error(`${this.spec.id}: its ${usage === 'ds' ? 'Digital Signing' : 'Key Agreement'} certificate ${file} (keys.${usage} in ${rig.file}) cannot be read: ${why}`);
      }
    };
    return { ds: load('ds'), ka: load('ka') };
  }
}

export class RigSession {
  private host: LinkHost | null = null;
  /** One link host, however many devices come up at once. */
  private hostStarting: Promise<LinkHost> | null = null;
  private readonly runtimes = new Map<string, RigDeviceRuntime>();
  private readonly holder: Holder;
  readonly store: LeaseStore;
  private readonly logs: DeviceLogs;
  private readonly recorder: FrameRecorder | null;
  private renewTimer: NodeJS.Timeout | null = null;
  private readonly ttlMs: number;
  private closed = false;
  /** Claims under way: close() waits for them, so nothing they lease or start outlives it. */
  private readonly claiming = new Set<Promise<unknown>>();
  /** Aborted by close(): emulators still starting are stopped rather than waited for. */
  private readonly closing = new AbortController();
  /** Whether this session opened its lease store (and so closes it). */
  private readonly ownStore: boolean;
  private refs = 0;
  private syncId = -1;
  private readonly exitHook = () => this.killNow();

  private constructor(
    readonly rig: Rig,
    private readonly o: RigSessionOptions,
  ) {
    this.holder = o.holder ?? currentHolder();
    this.store = o.store ?? new Store(o.leaseDir ?? (rig.leases.dir ? rigPath(rig, rig.leases.dir) : undefined));
    this.ownStore = !o.store;
    this.logs = new DeviceLogs(o.logDir ?? (rig.logs ? rigPath(rig, rig.logs) : join('.smets-hil', 'rig-logs', rig.name)));
    const recordDir = o.recordDir ?? (rig.record ? rigPath(rig, rig.record) : null);
    this.recorder = recordDir ? new FrameRecorder(join(recordDir, `${rig.name}-${new Date().toISOString().replaceAll(':', '')}.jsonl`)) : null;
    this.ttlMs = durationMs(rig.leases.ttl);
    process.once('exit', this.exitHook);
  }

  static open(rig: Rig | string, o: RigSessionOptions = {}): RigSession {
    return new RigSession(typeof rig === 'string' ? loadRig(rig) : rig, o);
  }

  get target(): string {
    return `rig:${this.rig.name}`;
  }

  /** Keeps the process alive while the session works; unref lets it exit while idle. */
  ref(): void {
    if (this.refs++ === 0) this.setRef(true);
  }

  unref(): void {
    if (--this.refs === 0) this.setRef(false);
  }

  device(id: string): RigDeviceRuntime | undefined {
    return this.runtimes.get(id);
  }

  /**
   * Finds, leases and brings up a device for every want, or explains why it cannot (RigUnavailableError). A
   * device failing its health check is marked unhealthy, power-cycled if it can be, and otherwise passed over.
   */
  async allocate(wants: readonly DeviceWant[]): Promise<Map<string, RigDeviceRuntime>> {
    // Devices leased to others may come free: wait for them as long as the rig file allows.
    const deadline = Date.now() + durationMs(this.rig.leases.wait);
    for (;;) {
      try {
        return await this.allocateOnce(wants);
      } catch (e) {
        if (this.closed || !(e instanceof RigUnavailableError) || !/ is leased to /.test(e.message) || Date.now() + 2000 > deadline) throw e;
        // Closing the session ends the wait (the next attempt is then refused).
        await sleep(2000, undefined, { signal: this.closing.signal }).catch(() => undefined);
      }
    }
  }

  private async allocateOnce(wants: readonly DeviceWant[]): Promise<Map<string, RigDeviceRuntime>> {
    this.checkOpen();
    const held = new Set(this.runtimes.keys());
    const taken = new Set<string>();
    const out = new Map<string, RigDeviceRuntime>();
    const reasons = new Map<string, string[]>();
    // Most constrained first, so a scarce device is not spent on a want that had alternatives.
    const order = [...wants].sort((a, b) => this.candidates(a).length - this.candidates(b).length);
    try {
      await this.warmUp(order);
      for (const want of order) {
        this.checkOpen();
        const why: string[] = [];
        let chosen: RigDeviceRuntime | null = null;
        const ranked = this.candidates(want).sort((a, b) => Number(this.runtimes.has(b.id)) - Number(this.runtimes.has(a.id)));
        for (const spec of ranked) {
          if (taken.has(spec.id)) continue;
          const r = await this.claim(spec, why);
          if (r) {
            chosen = r;
            break;
          }
        }
        if (!chosen) {
          for (const d of this.rig.devices) {
            if (fits(d, want) && otherRealMeter(d, want)) why.push(`${d.id} is a real meter with EUI ${d.eui.toUpperCase()}, not ${want.eui}: give the world its EUI`);
          }
          reasons.set(want.alias, why.length ? why : ['no device of the rig has that type and those capabilities']);
          continue;
        }
        taken.add(chosen.spec.id);
        chosen.inUse = true;
        out.set(want.alias, chosen);
      }
    } catch (e) {
      this.free(out.values());
      await this.letGo(held, false);
      throw e;
    }
    if (reasons.size) {
      this.free(out.values());
      await this.letGo(held, [...reasons.values()].some((why) => why.some((w) => / is leased to /.test(w))));
      const text = [...reasons].map(([alias, why]) => `${alias} (${describe(wants.find((w) => w.alias === alias)!)}): ${why.join('; ')}`).join(' | ');
      throw new RigUnavailableError(`rig ${this.rig.name} has no device free for ${text}`);
    }
    return out;
  }

  /** Leases, brings up and health-checks one device (power-cycling it if it fails), then lets it go again. */
  async check(id: string): Promise<{ healthy: boolean; reason: string | null }> {
    const spec = this.rig.devices.find((d) => d.id === id);
    if (!spec) return { healthy: false, reason: `no device ${id} in rig ${this.rig.name}` };
    const why: string[] = [];
    const r = await this.claim(spec, why, true);
    if (!r) return { healthy: false, reason: why.join('; ') };
    return { healthy: true, reason: null };
  }

  /**
   * Brings up, in parallel, the emulator processes a world will most likely get (each want's first free
   * candidate): starting eight emulators one after another costs eight times as long.
   */
  private async warmUp(wants: readonly DeviceWant[]): Promise<void> {
    const picked = new Set<RigDevice>();
    for (const w of wants) {
      const spec = this.candidates(w).find((d) => !picked.has(d) && !this.runtimes.get(d.id)?.inUse);
      if (spec) picked.add(spec);
    }
    const cold = [...picked].filter((d) => d.transport.kind === 'process-serial' && !this.runtimes.has(d.id));
    await Promise.all(cold.map((d) => this.claim(d, [])));
  }

  /**
   * After a failed allocation: gives back the idle devices leased on the way and, when another run holds a device
   * this one wants, every idle device, so that two runs never each hold what the other waits for.
   */
  private async letGo(held: ReadonlySet<string>, contended: boolean): Promise<void> {
    // A closed session's devices are close()'s to give back.
    if (this.closed) return;
    const idle = [...this.runtimes.values()].filter((r) => !r.inUse && (contended || !held.has(r.spec.id)));
    await Promise.allSettled(
      idle.map((r) => {
        r.log.line(`released: ${contended ? 'waiting for a device another run holds' : 'the allocation failed'}`);
        return this.drop(r);
      }),
    );
  }

  free(runtimes: Iterable<RigDeviceRuntime>): void {
    for (const r of runtimes) {
      r.inUse = false;
      r.faults.clear();
    }
  }

  /**
   * Moves the clocks of emulated devices, blocking until each answered with its new state (the scenario engine
   * reads device state synchronously right after). Alerts and state pushes still arrive through the links.
   */
  advanceSync(runtimes: readonly RigDeviceRuntime[], ms: number): void {
    this.exchangeSync(runtimes, { op: 'advance', ms }, 'advancing its clock');
    for (const r of runtimes) r.log.line(`clock advanced ${ms} ms`);
  }

  /**
   * Reads the state of emulated devices, blocking until each answered. A device answers after every frame it
   * received before the question, so this also sees what it did without answering (a refused replay).
   */
  snapshotSync(runtimes: readonly RigDeviceRuntime[]): void {
    this.exchangeSync(runtimes, { op: 'snapshot' }, 'reading its state');
  }

  private exchangeSync(runtimes: readonly RigDeviceRuntime[], request: { op: 'advance'; ms: number } | { op: 'snapshot' }, what: string): void {
    const live = runtimes.filter((r) => r.serial && r.control);
    if (!live.length) return;
    // Negative ids: no ControlClient waits for these replies.
    const items = live.map((r) => {
      const id = this.syncId--;
      return { link: r.serial!, id, message: Buffer.from(encodeControl({ ...request, id })).toString('utf8') };
    });
    const reply = live[0]!.serial!.linkHost.exchangeSync(items, 15_000);
    for (const [i, r] of live.entries()) {
      const item = reply.items[i];
      const m = item?.reply as { ok?: boolean; state?: unknown; version?: number; error?: string } | undefined;
      if (!m?.ok) throw new RigUnavailableError(`${r.spec.id}: ${what} failed: ${item?.error ?? m?.error ?? 'no answer'}`);
      r.observe(m.state, m.version ?? r.stateVersion + 1);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.renewTimer) clearInterval(this.renewTimer);
    // Idle sessions let the process exit; closing must keep it alive until the emulators are gone.
    this.setRef(true);
    this.closing.abort();
    // Claims under way see the session closed at their next step and give their device back; what they already
    // started is torn down below, once they are done with it.
    await Promise.allSettled([...this.claiming]);
    // Everything is closed even if a step fails (a lease store that cannot be written, say): a link host or
    // emulator left running would keep the process alive for ever. The first failure is reported after.
    const released = await Promise.allSettled(
      [...this.runtimes.values()].map(async (r) => {
        await r.transport?.close().catch(() => undefined);
        r.control?.dispose();
        try {
          await r.emulator?.stop();
        } finally {
          this.store.release(this.rig.name, r.spec.id, this.holder);
          r.log.line('released');
        }
      }),
    );
    this.runtimes.clear();
    const host = this.host ?? (await this.hostStarting?.catch(() => null));
    const closed = await Promise.allSettled([host?.close(), this.recorder?.close(), this.logs.close(), this.ownStore ? this.store.close() : undefined]);
    process.removeListener('exit', this.exitHook);
    const failed = [...released, ...closed].find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private candidates(want: DeviceWant): RigDevice[] {
    return this.rig.devices.filter((d) => fits(d, want) && !otherRealMeter(d, want));
  }

  /** A runtime for the device if it is (or can be) ours, up and healthy; otherwise notes why not. */
  private claim(spec: RigDevice, why: string[], recheck = false): Promise<RigDeviceRuntime | null> {
    const claiming: Promise<RigDeviceRuntime | null> = this.claimDevice(spec, why, recheck).finally(() => this.claiming.delete(claiming));
    this.claiming.add(claiming);
    return claiming;
  }

  private async claimDevice(spec: RigDevice, why: string[], recheck: boolean): Promise<RigDeviceRuntime | null> {
    if (this.closed) {
      why.push(`${spec.id}: the rig session is closed`);
      return null;
    }
    if (spec.transport.kind === 'zigbee' && !this.o.zigbee) {
      why.push(`${spec.id} is on ZigBee, and this run has no ZigBee link to reach it`);
      return null;
    }
    let r = this.runtimes.get(spec.id);
    if (r?.inUse) {
      why.push(`${spec.id} is in use by this run`);
      return null;
    }
    // A device kept from an earlier scenario is ours only while its lease is: it may have lapsed, or been taken
    // (`rig release --force`). Then it is leased afresh, or reported held by whoever has it now.
    if (r && !this.store.renew(this.rig.name, spec.id, this.holder, this.ttlMs)) {
      r.log.line('lease lost: it expired or was taken');
      await this.drop(r);
      r = undefined;
      if (this.closed) {
        why.push(`${spec.id}: the rig session is closed`);
        return null;
      }
    }
    if (!r) {
      const health = this.store.health(this.rig.name, spec.id);
      if (!recheck && health && !health.healthy && Date.now() - health.checkedAt < (this.o.recheckAfterMs ?? 300_000)) {
        why.push(`${spec.id} is out of service (${health.reason})`);
        return null;
      }
      const got = this.store.acquire(this.rig.name, spec.id, this.holder, this.ttlMs);
      if (!got.ok) {
        const h = got.heldBy;
        why.push(`${spec.id} is leased to ${h.holder.name} (pid ${h.holder.pid} on ${h.holder.host}) until ${new Date(h.expiresAt).toISOString()}`);
        return null;
      }
      r = new RigDeviceRuntime(spec, this.logs.for(spec.id));
      r.log.line(`leased by ${this.holder.name} (pid ${this.holder.pid}) for ${this.rig.leases.ttl}`);
      this.runtimes.set(spec.id, r);
      this.startRenewing();
    }
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        await this.bringUp(r);
        const health = await probe(() => this.ping(r!), durationMs(spec.health.timeout));
        this.checkOpen();
        if (health.healthy) {
          this.store.markHealth(this.rig.name, spec.id, true, null);
          return r;
        }
        throw new Error(health.reason ?? 'unhealthy');
      } catch (e) {
        // Once closed, whatever failed (an emulator stopped while starting, say) failed because of that.
        const reason = this.closed ? 'the rig session is closed' : (e as Error).message;
        if (e instanceof RigUnavailableError || e instanceof EmulatorUnavailableError || this.closed) {
          // This run cannot reach the device (a missing driver, a coordinator it cannot use, a host without socat)
          // or no longer wants it (the session closed): not its health.
          r.log.line(`passed over: ${reason}`);
          why.push(reason.startsWith(spec.id) ? reason : `${spec.id}: ${reason}`);
          await this.drop(r);
          return null;
        }
        if (attempt === 1 && this.host && !this.host.running) {
          // The link host died under the check: not the device's health. The next attempt starts a new host.
          r.log.line(`the link host exited during the health check (${reason}): trying again`);
          continue;
        }
        r.log.line(`health check failed (attempt ${attempt}): ${reason}`);
        this.store.markHealth(this.rig.name, spec.id, false, reason);
        if (attempt === 2 || !(await this.powerCycle(r))) {
          why.push(`${spec.id} failed its health check (${reason})`);
          await this.drop(r);
          return null;
        }
      }
    }
    return null;
  }

  private async ping(r: RigDeviceRuntime): Promise<unknown> {
    // An emulator answers; a real meter's link layer acknowledges (and drops) the CONTROL frame.
    if (r.control) return r.control.ping();
    if (r.serial) return r.serial.sendControl(encodeControl({ op: 'ping', id: 0 }));
    // Other links: up is as much as can be asked.
    if (r.transport.state !== 'open') throw new Error(`link is ${r.transport.state}`);
    return undefined;
  }

  /** Starts what is missing: the link host, the emulator process, the link and its Transport. */
  private async bringUp(r: RigDeviceRuntime): Promise<void> {
    const spec = r.spec;
    if (spec.transport.kind === 'zigbee') {
      if (r.transport?.state === 'open') return;
      const zigbee = await this.o.zigbee!(spec.transport, spec);
      const readable = zigbee as Link & { readPaymentMode?: () => Promise<string> };
      r.readState = readable.readPaymentMode ? async () => ({ paymentMode: await readable.readPaymentMode!() }) : null;
      r.transport = new Transport(this.deviceLink(zigbee, r), { timeouts: { openMs: 30_000 } });
      // After each wait the session may have closed: what was started is then the claim's to stop (drop()).
      this.checkOpen();
      await r.transport.open();
      this.checkOpen();
      return;
    }
    if (spec.transport.kind === 'process-serial' && (!r.emulator || r.emulator.hasExited)) {
      r.emulator = (await startEmulatorProcess({
        type: spec.type,
        eui: spec.eui,
        seed: this.seedOf(spec),
        ...(spec.fuel ? { fuel: spec.fuel } : {}),
        baud: spec.transport.baud,
        log: (l) => r.log.line(l),
        signal: this.closing.signal,
      })) as EmulatorProcess & Partial<RefControl>;
      this.checkOpen();
      r.serial = null;
      // A new process numbers its states from the start again.
      r.stateVersion = -1;
      if (this.refs === 0) r.emulator.unref?.();
    }
    if (r.serial && r.serial.state === 'open') return;
    if (this.host && !this.host.running) {
      // The link host died (its native serial binding crashed, say): its links went with it. A new one serves
      // from here; a device on the old one is brought up again on it (its link has failed).
      r.log.line('the link host has exited: starting a new one');
      this.host = null;
      this.hostStarting = null;
    }
    // A start that failed is tried again at the next bring-up, not remembered.
    this.hostStarting ??= LinkHost.start().catch((e: unknown) => {
      this.hostStarting = null;
      throw e;
    });
    this.host = await this.hostStarting;
    this.checkOpen();
    if (this.refs === 0) this.host.unref();
    const path = spec.transport.kind === 'serial' ? spec.transport.path : r.emulator!.peer;
    const serial = this.host.link({ path, baudRate: spec.transport.baud, name: `serial:${spec.id}`, ...this.o.link });
    serial.onState((s, e) => r.log.line(`link ${s}${e ? `: ${e.message}` : ''}`));
    const link = this.deviceLink(serial, r);
    r.control?.dispose();
    r.serial = serial;
    r.control = r.emulated ? new ControlClient(serial, 10_000) : null;
    r.control?.onState((_eui, state, version) => r.observe(state, version));
    r.transport = new Transport(link, { timeouts: { openMs: 10_000 } });
    await r.transport.open();
    this.checkOpen();
  }

  /**
   * The DCC's end of a device link: faults act above the recording, so the recording holds what crossed the
   * line (a duplicated command twice, a dropped one not at all), as the meter saw it.
   */
  private deviceLink(link: Link, r: RigDeviceRuntime): Link {
    return new FaultLink(this.recorder ? new RecordingLink(link, this.recorder, r.spec.id) : link, r.faults);
  }

  private checkOpen(): void {
    if (this.closed) throw new RigUnavailableError('the rig session is closed');
  }

  /** The inventory's power-cycle command; for an emulator process, a restart. */
  private async powerCycle(r: RigDeviceRuntime): Promise<boolean> {
    if (r.spec.powerCycle) {
      r.log.line(`power cycle: ${r.spec.powerCycle.command}`);
      const res = await powerCycle(r.spec.powerCycle.command, durationMs(r.spec.powerCycle.timeout));
      r.log.line(`power cycle ${res.ok ? 'done' : `failed (${res.timedOut ? 'timed out' : `exit ${res.code}`})`}: ${res.output.trim()}`);
      return res.ok;
    }
    if (r.emulator) {
      r.log.line('restarting the emulator process');
      await r.transport?.close().catch(() => undefined);
      await r.emulator.stop();
      r.emulator = null;
      r.serial = null;
      return true;
    }
    return false;
  }

  private async drop(r: RigDeviceRuntime): Promise<void> {
    await r.transport?.close().catch(() => undefined);
    r.control?.dispose();
    await r.emulator?.stop();
    this.runtimes.delete(r.spec.id);
    this.store.release(this.rig.name, r.spec.id, this.holder);
  }

  private seedOf(spec: RigDevice): string {
    return spec.keys && 'seed' in spec.keys ? spec.keys.seed : `smets-hil/${this.rig.name}/${spec.id}`;
  }

  private startRenewing(): void {
    if (this.renewTimer) return;
    this.renewTimer = setInterval(() => {
      for (const r of this.runtimes.values()) {
        if (!this.store.renew(this.rig.name, r.spec.id, this.holder, this.ttlMs)) r.log.line('lease lost: it expired and was taken');
      }
    }, Math.max(1000, this.ttlMs / 3));
    this.renewTimer.unref();
  }

  private setRef(on: boolean): void {
    for (const r of this.runtimes.values()) (on ? r.emulator?.ref : r.emulator?.unref)?.call(r.emulator);
    if (on) this.host?.ref();
    else this.host?.unref();
  }

  /** At process exit: nothing may wait, so emulators are signalled and leases released synchronously. */
  private killNow(): void {
    for (const r of this.runtimes.values()) {
      r.emulator?.killNow();
      try {
        this.store.release(this.rig.name, r.spec.id, this.holder);
      } catch {
        // The lease lapses with our pid anyway.
      }
    }
  }
}

/** The device has the want's type, fuel and capabilities. */
function fits(d: RigDevice, want: DeviceWant): boolean {
  return (
    d.type === want.type &&
    (!want.twin || d.capabilities.includes('twin')) &&
    (want.type !== 'SMETS1' || (d.fuel ?? 'electricity') === want.fuel) &&
    want.requires.every((c) => d.capabilities.includes(c))
  );
}

/** A real meter cannot take the world's EUI for the device: it answers only to its own. */
function otherRealMeter(d: RigDevice, want: DeviceWant): boolean {
  return d.kind === 'hardware' && want.eui !== undefined && d.eui.toUpperCase() !== want.eui.toUpperCase();
}

function describe(w: DeviceWant): string {
  return [w.type, w.twin ? 'twin' : null, w.type === 'SMETS1' ? w.fuel : null, ...w.requires].filter(Boolean).join(', ');
}
