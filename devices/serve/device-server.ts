/**
 * One emulated meter on the device end of a serial line: what `smets-hil device serve` runs. GBCS and S1SP
 * frames arrive as DATA and go to the meter (through a DeviceHost, as in-process); its responses and alerts go
 * back as DATA. CONTROL messages (control.ts) re-create the meter (provision), move its clock, or read its state,
 * and the meter's state is pushed to the harness before anything it sends.
 *
 * Keys derive from the seed and the EUI (SeededKeySource), so whoever knows the seed knows the public keys; the
 * identity (with the keys) is also printed when the server is ready and returned by every provisioning.
 *
 * A link that fails (the far end gone, the port hung up) is reopened after a pause: a meter outlives its cable.
 *
 * With a state file, nothing the meter sends leaves before the state that produced it is written: an answered
 * Command whose counter was not kept would execute again after a restart. A state that cannot be written stops
 * the meter serving (`onFault`); what it would have sent is dropped, so the DCC sees no answer, which is the truth.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { meterClockProblem, SimClock } from '../clock.ts';
import { makeDirectory } from '../directories.ts';
import { DeviceHost, type HostedDevice } from '../host.ts';
import type { Meter } from '../meter.ts';
import { Smets1Meter } from '../smets1/meter.ts';
import { SeededKeySource } from '../smets2/keys.ts';
import { METER_DEFECTS, type MeterDefect, Smets2Meter } from '../smets2/meter.ts';
import { TrustAnchors, type TrustAnchorCell } from '../smets2/trust-anchors.ts';
import type { SerialLink } from '../transports/serial/serial-link.ts';
import { generateKeyPair } from '../../protocol/smki/keys.ts';
import { type Eui, parseEui } from '../../protocol/smki/eui.ts';
import {
  type ControlMessage,
  decodeControl,
  type DeviceIdentity,
  type DeviceType,
  encodeControl,
  keyFromWire,
  keyToWire,
  provisionSchema,
  requestSchema,
  type WireAnchors,
} from './control.ts';

export interface DeviceServerOptions {
  link: SerialLink;
  type: DeviceType;
  eui: Eui;
  seed: string;
  twin?: boolean;
  fuel?: 'electricity' | 'gas';
  anchors?: WireAnchors;
  /** The meter's clock at start (default now). */
  clock?: Date;
  /** Keeps the meter (definition and state) in this file across restarts. */
  statePath?: string;
  /** One structured event per call (the CLI prints them as JSON lines). */
  log?: (event: Record<string, unknown>) => void;
  /** Pause before reopening a failed link (default 500 ms). */
  reconnectMs?: number;
  /** Called once when the meter stops serving because its state could not be written. */
  onFault?: (error: Error) => void;
}

/** A state file that holds another meter than the one asked for (a usage error, not a failure to serve). */
export class StateFileMismatchError extends Error {
  override readonly name = 'StateFileMismatchError';
}

interface Definition {
  eui: Eui;
  type: DeviceType;
  twin: boolean;
  fuel: 'electricity' | 'gas';
  anchors: WireAnchors | null;
  defects: MeterDefect[];
  initial: { paymentMode?: 'credit' | 'prepayment'; meterBalance?: number };
}

export class DeviceServer {
  private meter!: Meter;
  private def!: Definition;
  private readonly keys: SeededKeySource;
  private readonly host: DeviceHost;
  private lastState = '';
  private lastSaved = '';
  /**
   * Numbers every state sent, so the harness can tell a late copy from the latest. It starts from the time (in
   * microseconds), and from the saved number, so a restarted emulator's states are newer than its last process's.
   */
  private version: number;
  /** Why this meter stopped serving (its state could not be written), or null. */
  private fault: Error | null = null;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reopening = false;
  private readonly log: (event: Record<string, unknown>) => void;
  /** The meter as the host sees it: its output goes out after its state. */
  private readonly hosted: HostedDevice;
  private sink: ((frame: Uint8Array) => void) | null = null;
  /** The --eui this meter was first served as, kept in its state file. */
  private readonly servedAs: NonNullable<SavedState['servedAs']>;

  constructor(private readonly o: DeviceServerOptions) {
    this.keys = new SeededKeySource(o.seed);
    this.log = o.log ?? (() => undefined);
    const self = this;
    this.hosted = {
      get eui() {
        return self.meter.eui;
      },
      handleFrame(frame) {
        // Stopped serving: nothing may change that could not be kept.
        if (self.fault) return;
        self.log({ event: 'frame', octets: frame.length });
        try {
          self.meter.handleFrame(frame);
        } finally {
          self.afterChange(); // the state file keeps what the meter holds, a counter spent before a throw too
        }
      },
      setOutput(sink) {
        self.sink = sink;
      },
    };
    this.host = new DeviceHost(o.link, { onDeviceError: (eui, e) => this.log({ event: 'device-error', eui, error: e.message }) });
    const saved = o.statePath ? readSavedState(o.statePath) : null;
    this.servedAs = saved?.servedAs ?? { eui: o.eui };
    this.version = Math.max(Date.now() * 1000, Number.isSafeInteger(saved?.version) ? saved!.version! : 0);
    if (saved) {
      checkSavedMeter(o.statePath!, saved, o);
      try {
        this.create(saved.definition, new Date(saved.clock));
        this.meter.importState(saved.state);
      } catch (e) {
        throw new Error(`state file ${o.statePath}: not a meter this emulator saved (${(e as Error).message})`);
      }
      // The saved clock goes on (a meter's clock never goes back): a --clock given now is not the meter's.
      if (o.clock) this.log({ event: 'clock-kept', clock: new Date(this.meter.now()).toISOString(), ignored: o.clock.toISOString() });
    } else {
      this.create({ eui: o.eui, type: o.type, twin: o.twin ?? false, fuel: o.fuel ?? (o.type === 'GSME' ? 'gas' : 'electricity'), anchors: o.anchors ?? null, defects: [], initial: {} }, o.clock ?? new Date());
    }
    // Written now, so a state file that cannot be written stops the emulator before it takes any command, rather
    // than after a command it applied and could not keep.
    try {
      if (o.statePath) makeDirectory(dirname(o.statePath));
      this.save();
    } catch (e) {
      throw new Error(`cannot write the state file ${o.statePath}: ${(e as Error).message}`);
    }
    o.link.onControl((m) => this.control(m));
    o.link.onState((s, e) => {
      // A reopen that fails reports the link failed too; its own retry follows, later.
      if (s !== 'failed' || this.stopped || this.reopening) return;
      this.log({ event: 'link-failed', error: e?.message });
      this.scheduleReopen(o.reconnectMs ?? 500);
    });
  }

  identity(): DeviceIdentity {
    const d = this.def;
    const keys = d.type === 'SMETS1' ? null : this.keys.keysFor(d.eui);
    return { eui: d.eui, type: d.type, twin: d.twin, fuel: d.fuel, keys: keys ? { ds: keyToWire(keys.ds.publicKey), ka: keyToWire(keys.ka.publicKey) } : null };
  }

  get current(): Meter {
    return this.meter;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.host.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.host.stop();
  }

  private async reopen(): Promise<void> {
    if (this.stopped) return;
    this.reopening = true;
    try {
      await this.o.link.open();
      this.log({ event: 'link-reopened' });
    } catch (e) {
      this.log({ event: 'link-reopen-failed', error: (e as Error).message });
      this.scheduleReopen(Math.max(1000, this.o.reconnectMs ?? 500));
    } finally {
      this.reopening = false;
    }
  }

  /** One reopen pending at a time. */
  private scheduleReopen(ms: number): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.reopen();
    }, ms);
  }

  /** (Re)creates the meter; nothing of the previous one survives. One that cannot be built leaves the old in place. */
  private create(def: Definition, clockAt: Date): void {
    const meter = this.build(def, clockAt);
    this.meter?.setOutput(null);
    if (this.meter) this.host.remove(this.meter.eui);
    this.meter = meter;
    this.def = def;
    this.meter.setOutput((frame) => {
      if (this.fault || !this.keep()) return;
      // The harness must hold the state that produced this frame before it holds the frame.
      this.pushState();
      this.sink?.(frame);
    });
    this.host.add(this.hosted);
    this.lastState = JSON.stringify(this.meter.snapshot());
  }

  private build(def: Definition, clockAt: Date): Meter {
    const problem = meterClockProblem(clockAt.getTime());
    if (problem) throw new RangeError(problem);
    const clock = new SimClock(clockAt);
    const initial = { paymentMode: def.initial.paymentMode ?? 'credit', ...(def.initial.meterBalance !== undefined ? { meterBalance: def.initial.meterBalance } : {}) } as const;
    if (def.type === 'SMETS1') {
      const a = def.anchors?.s1sp;
      // Without an S1SP to trust the meter obeys nobody (a throwaway key) until it is provisioned.
      const s1sp = a ? { eui: parseEui(a.eui), publicKey: keyFromWire(a.publicKey) } : { eui: parseEui('0000000000000000'), publicKey: generateKeyPair().publicKey };
      return new Smets1Meter({ eui: def.eui, variant: def.fuel === 'gas' ? 'gsme' : 'esme', clock, initial, s1sp });
    } else {
      const cell = (c: { eui: string; ds?: string | undefined; ka?: string | undefined }): TrustAnchorCell => ({
        eui: parseEui(c.eui),
        ...(c.ds ? { ds: keyFromWire(c.ds) } : {}),
        ...(c.ka ? { ka: keyFromWire(c.ka) } : {}),
      });
      const a = def.anchors;
      const trust = new TrustAnchors(
        a ? { supplier: cell(a.supplier), accessControlBroker: cell(a.acb), ...(a.networkOperator ? { networkOperator: cell(a.networkOperator) } : {}) } : {},
      );
      return new Smets2Meter({
        eui: def.eui,
        variant: def.type === 'GSME' ? 'gsme' : def.twin ? 'esme-twin' : 'esme',
        clock,
        initial,
        keys: this.keys,
        trustAnchors: trust,
        defects: new Set(def.defects),
      });
    }
  }

  /** The state written, then shown to the harness; false when it could not be written (the meter has stopped). */
  private afterChange(): boolean {
    if (this.fault || !this.keep()) return false;
    this.pushState();
    return true;
  }

  /** Writes the state; one that cannot be written stops the meter serving. */
  private keep(): boolean {
    try {
      this.save();
      return true;
    } catch (e) {
      this.fault = new Error(`cannot write the state file ${this.o.statePath}: ${(e as Error).message}`);
      this.log({ event: 'stopped-serving', error: this.fault.message });
      this.o.onFault?.(this.fault);
      return false;
    }
  }

  private pushState(): void {
    const state = this.meter.snapshot();
    const text = JSON.stringify(state);
    if (text === this.lastState) return;
    this.lastState = text;
    this.sendControl({ op: 'state', eui: this.def.eui, state, version: ++this.version });
  }

  private sendControl(m: ControlMessage): void {
    this.o.link.sendControl(encodeControl(m)).catch(() => {
      // The harness is gone; it reads the state again when it is back.
    });
  }

  private save(): void {
    const path = this.o.statePath;
    if (!path) return;
    const meter = JSON.stringify({ definition: this.def, servedAs: this.servedAs, clock: new Date(this.meter.now()).toISOString(), state: this.meter.exportState() });
    if (meter === this.lastSaved) return;
    // The number the next state shown will carry, at most: a restart numbers its states after it.
    writeFileSync(`${path}.tmp`, `${meter.slice(0, -1)},"version":${this.version + 1}}`);
    renameSync(`${path}.tmp`, path);
    this.lastSaved = meter;
  }

  private control(bytes: Uint8Array): void {
    const raw = decodeControl(bytes);
    const parsed = requestSchema.safeParse(raw);
    const id = typeof (raw as { id?: unknown } | null)?.id === 'number' ? (raw as { id: number }).id : -1;
    if (!parsed.success) {
      this.sendControl({ op: 'reply', id, ok: false, error: `bad control message: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
      return;
    }
    const m = parsed.data;
    // A meter that stopped serving answers nothing as if it were well: a health check must see it.
    if (this.fault) {
      this.sendControl({ op: 'reply', id, ok: false, error: `stopped serving: ${this.fault.message}` });
      return;
    }
    try {
      switch (m.op) {
        case 'ping':
          this.sendControl({ op: 'reply', id, ok: true, identity: this.identity() });
          return;
        case 'snapshot':
          this.sendControl({ op: 'reply', id, ok: true, state: this.meter.snapshot(), version: this.version });
          return;
        case 'advance': {
          const problem = meterClockProblem(this.meter.now() + m.ms);
          if (problem) throw new RangeError(`advance by ${m.ms} ms: ${problem}`);
          this.meter.advanceClock(m.ms);
          if (!this.afterChange()) throw this.fault!;
          this.sendControl({ op: 'reply', id, ok: true, state: this.meter.snapshot(), version: this.version });
          return;
        }
        case 'provision': {
          const p = provisionSchema.parse(m);
          if (p.type !== this.o.type) throw new Error(`this emulator serves ${this.o.type}, not ${p.type}`);
          const defects = p.defects.filter((d): d is MeterDefect => d in METER_DEFECTS);
          if (defects.length !== p.defects.length) throw new Error(`unknown meter defects: ${p.defects.filter((d) => !(d in METER_DEFECTS)).join(', ')}`);
          this.create({ eui: parseEui(p.eui), type: p.type, twin: p.twin, fuel: p.fuel, anchors: p.anchors ?? null, defects, initial: p.initial }, new Date(p.clock));
          if (!this.keep()) throw this.fault!;
          this.log({ event: 'provisioned', eui: p.eui, type: p.type, twin: p.twin, fuel: p.fuel, paymentMode: this.meter.paymentMode });
          this.sendControl({ op: 'reply', id, ok: true, identity: this.identity(), state: this.meter.snapshot(), version: ++this.version });
          return;
        }
      }
    } catch (e) {
      this.sendControl({ op: 'reply', id, ok: false, error: (e as Error).message });
    }
  }
}

interface SavedState {
  definition: Definition;
  /** Above every state number the process that saved it had shown (absent from earlier versions' files). */
  version?: number;
  /** The --eui the emulator was first started with (a harness may since have provisioned another EUI). */
  servedAs?: { eui: string };
  clock: string;
  state: string;
}

/**
 * The saved meter is the one asked for: of the --type given (provisioning never changes it), and with the --eui
 * given, either as it is now or as it was first served (a harness may have provisioned another since).
 */
function checkSavedMeter(path: string, saved: SavedState, o: { type: DeviceType; eui: Eui }): void {
  const d = saved.definition;
  // A definition that is not a meter's is create()'s to report.
  if (typeof d.type === 'string' && d.type !== o.type) {
    throw new StateFileMismatchError(`state file ${path} holds a ${d.type} (EUI ${d.eui}), not the ${o.type} asked for: give --type ${String(d.type).toLowerCase()}, or another state file`);
  }
  const euis = [d.eui, saved.servedAs?.eui].filter((e): e is string => typeof e === 'string').map((e) => e.toUpperCase());
  if (euis.length && !euis.includes(o.eui.toUpperCase())) {
    throw new StateFileMismatchError(`state file ${path} holds the ${d.type} with EUI ${d.eui}${saved.servedAs && saved.servedAs.eui !== d.eui ? ` (served as --eui ${saved.servedAs.eui})` : ''}, not --eui ${o.eui}: give its --eui, or another state file`);
  }
}

/** The saved meter, or null when there is none yet; a file that is not one is an error naming it. */
function readSavedState(path: string): SavedState | null {
  if (!existsSync(path)) return null;
  let saved: Partial<SavedState>;
  try {
    saved = JSON.parse(readFileSync(path, 'utf8')) as Partial<SavedState>;
  } catch (e) {
    throw new Error(`state file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (typeof saved !== 'object' || saved === null || typeof saved.definition !== 'object' || typeof saved.clock !== 'string' || typeof saved.state !== 'string') {
    throw new Error(`state file ${path}: not a meter this emulator saved (definition, clock and state expected)`);
  }
  return saved as SavedState;
}
