/**
 * The state every emulated meter keeps, SMETS2+ or SMETS1, and how operations change it. The generation-
 * specific classes (smets2/meter.ts, smets1/meter.ts) authenticate what arrives, turn it into a MeterOperation
 * and call `perform`; everything a harness can observe comes out of `snapshot()`.
 *
 * Memory: a fleet holds up to ~1.7 M of these. A meter is a small shell (EUI, a shared environment, a state
 * record, an output); meters that start alike share one frozen state record until their first change, and
 * sub-records (tariff, prepayment configuration, debt recovery) are replaced, never mutated. Counters, logs and
 * pending changes are allocated on first use.
 */
import { type Eui } from '../protocol/smki/eui.ts';
import { executionToJSON } from '../protocol/gbcs/datetime.ts';
import { readUtrn } from '../protocol/gbcs/usecases/top-up.ts';
import { type MeterVariant } from '../protocol/gbcs/usecases/payment-mode.ts';
import {
  type DebtRecovery,
  type MeterOperation,
  type PrepaymentConfiguration,
  type ReadResult,
  type Tariff,
} from '../protocol/s1sp/operations.ts';
import { type ClockTimer, type SimClock } from './clock.ts';
import { savedStateProblem } from './saved-state.ts';
import { canonical, type Json } from './snapshot.ts';

export type Generation = 'smets2' | 'smets1';
export type SupplyState = 'enabled' | 'disabled' | 'armed';
export type PendingKind = 'paymentMode' | 'prepaymentConfiguration' | 'tariff';
export type { MeterVariant };

/** Who asked and how: the remote party (SMETS2+) or S1SP (SMETS1), its counter, and the use case name. */
export interface CommandContext {
  source: Eui;
  counter: bigint;
  useCase: string;
}

export type OperationStatus = 'executed' | 'scheduled' | 'cancelled' | 'refused';

export interface OperationOutcome {
  status: OperationStatus;
  reason?: string;
  read?: ReadResult;
}

export interface PendingChange {
  kind: PendingKind;
  op: Extract<MeterOperation, { execution: unknown }>;
  ctx: CommandContext;
  at: number;
  timer: ClockTimer;
  /** What the generation-specific alert needs (the ESME attributes or GSME commands that fire). */
  alertInfo: unknown;
}

/** Values a meter may start with (RTDS-like defaults otherwise). */
export interface InitialState {
  paymentMode: 'credit' | 'prepayment';
  suspendDebtDisabled: boolean;
  suspendDebtEmergency: boolean;
  disablementThreshold: number;
  meterBalance: number;
  emergencyCreditLimit: number;
  emergencyCreditThreshold: number;
  supply: SupplyState;
  activeImportWh: number;
  /** The next alert is sent with this counter + 1. */
  alertCounter: number;
}

export interface MeterOptions {
  eui: Eui;
  variant: MeterVariant;
  /** Shared by a fleet, or one per meter (the default). */
  clock?: SimClock;
  initial?: Partial<InitialState>;
}

export type SecurityCode = '8F1E' | '8F30' | '8F53' | '8F60';

interface SecurityEntry {
  at: number;
  code: SecurityCode;
  reason: string;
  source?: string;
  counter?: bigint;
  messageCode?: number;
}

interface EventEntry {
  at: number;
  event: OperationStatus | 'future-dated-executed' | 'consumer-enabled-supply';
  useCase?: string;
  source?: string;
  counter?: bigint;
  detail?: string;
}

/** Most recent entries kept per log. */
export const LOG_LIMIT = 64;

const DEFAULT_PREPAYMENT: PrepaymentConfiguration = Object.freeze({
  lowCreditThreshold: 0,
  maxMeterBalance: 0,
  maxCreditThreshold: 0,
  debtRecoveryRateCap: 0,
  emergencyCreditLimit: 1_000_000,
  emergencyCreditThreshold: 200_000,
  calendar: '0000000000000000',
});
const DEFAULT_RECOVERY: DebtRecovery = Object.freeze({ timeDebt1Rate: 0, timeDebt1Period: 'daily', timeDebt2Rate: 0, timeDebt2Period: 'daily', paymentDebtRate: 0 });
const DEFAULT_TARIFF: Tariff = Object.freeze({ standingCharge: 0, unitRates: Object.freeze([]) as unknown as number[], digest: '0000000000000000' });

const PENDING_KIND: Record<string, PendingKind | undefined> = { 'payment-mode': 'paymentMode', 'prepayment-configuration': 'prepaymentConfiguration', tariff: 'tariff' };

/**
 * Everything that changes. Meters that have never been changed share one frozen record per starting state;
 * the first change gives a meter its own copy (see `w()`).
 */
interface StateRecord {
  variant: MeterVariant;
  paymentMode: 'credit' | 'prepayment';
  suspendDebtDisabled: boolean;
  suspendDebtEmergency: boolean;
  disablementThreshold: number;
  meterBalance: number;
  emergencyCreditActive: boolean;
  emergencyCreditBalance: number;
  accumulatedDebt: number;
  timeDebt1: number;
  timeDebt2: number;
  paymentDebt: number;
  debtRecovery: DebtRecovery;
  prepayment: PrepaymentConfiguration;
  supply: SupplyState;
  tariff: Tariff;
  activeImportWh: number;
  utrnCounter: bigint | null;
  alertCounter: number;
  /** Highest accepted counter per sender, as [eui, counter, eui, counter, ...] (a Map costs more). */
  counters: (string | bigint)[] | null;
  pending: PendingChange[] | null;
  securityLog: SecurityEntry[] | null;
  eventLog: EventEntry[] | null;
}

const SHARED_RECORDS = new Map<string, Readonly<StateRecord>>();
const SHARED_RECORD_LIMIT = 256;

function initialRecord(variant: MeterVariant, i: Partial<InitialState>): StateRecord {
  const prepayment =
    i.emergencyCreditLimit !== undefined || i.emergencyCreditThreshold !== undefined
      ? Object.freeze({ ...DEFAULT_PREPAYMENT, emergencyCreditLimit: i.emergencyCreditLimit ?? DEFAULT_PREPAYMENT.emergencyCreditLimit, emergencyCreditThreshold: i.emergencyCreditThreshold ?? DEFAULT_PREPAYMENT.emergencyCreditThreshold })
      : DEFAULT_PREPAYMENT;
  return {
    variant,
    paymentMode: i.paymentMode ?? 'credit',
    suspendDebtDisabled: i.suspendDebtDisabled ?? false,
    suspendDebtEmergency: i.suspendDebtEmergency ?? false,
    disablementThreshold: i.disablementThreshold ?? 0,
    meterBalance: i.meterBalance ?? 0,
    emergencyCreditActive: false,
    emergencyCreditBalance: 0,
    accumulatedDebt: 0,
    timeDebt1: 0,
    timeDebt2: 0,
    paymentDebt: 0,
    debtRecovery: DEFAULT_RECOVERY,
    prepayment,
    supply: i.supply ?? 'enabled',
    tariff: DEFAULT_TARIFF,
    activeImportWh: i.activeImportWh ?? 0,
    utrnCounter: null,
    alertCounter: i.alertCounter ?? 0,
    counters: null,
    pending: null,
    securityLog: null,
    eventLog: null,
  };
}

/** The shared frozen record for a starting state (fleets start from a handful of them). */
function sharedRecord(variant: MeterVariant, initial: Partial<InitialState>): Readonly<StateRecord> {
  const key = `${variant}:${JSON.stringify(initial)}`;
  let r = SHARED_RECORDS.get(key);
  if (!r) {
    r = Object.freeze(initialRecord(variant, initial));
    if (SHARED_RECORDS.size < SHARED_RECORD_LIMIT) SHARED_RECORDS.set(key, r);
  }
  return r;
}

export abstract class Meter {
  readonly eui: Eui;
  abstract readonly generation: Generation;
  protected output: ((frame: Uint8Array) => void) | null = null;
  /** Shared (and frozen) until this meter first changes. */
  private s: Readonly<StateRecord>;

  constructor(o: MeterOptions) {
    this.eui = o.eui;
    this.s = sharedRecord(o.variant, o.initial ?? {});
  }

  /** The simulated clock (often shared by a fleet). */
  protected abstract get clock(): SimClock;

  /** The record, made this meter's own first: every change goes through here. */
  private w(): StateRecord {
    if (Object.isFrozen(this.s)) this.s = { ...this.s };
    return this.s as StateRecord;
  }

  get variant(): MeterVariant {
    return this.s.variant;
  }
  get paymentMode(): 'credit' | 'prepayment' {
    return this.s.paymentMode;
  }
  get meterBalance(): number {
    return this.s.meterBalance;
  }
  get supply(): SupplyState {
    return this.s.supply;
  }
  get prepayment(): PrepaymentConfiguration {
    return this.s.prepayment;
  }
  get tariff(): Tariff {
    return this.s.tariff;
  }
  get alertCounter(): number {
    return this.s.alertCounter;
  }

  /** Where the meter sends responses and alerts (the device host sets it). */
  setOutput(sink: ((frame: Uint8Array) => void) | null): void {
    this.output = sink;
  }

  /** Handles one frame from the link; answers (if at all) through the output. */
  abstract handleFrame(frame: Uint8Array): void;

  now(): number {
    return this.clock.now();
  }

  get simClock(): SimClock {
    return this.clock;
  }

  /** Moves this meter's clock (and every meter sharing it), executing future-dated changes that fall due. */
  advanceClock(ms: number): void {
    this.clock.advance(ms);
  }

  // ---------------------------------------------------------------- consumer side

  /** The consumer presses the button on an armed meter. */
  consumerEnableSupply(): boolean {
    if (this.s.supply !== 'armed') return false;
    this.w().supply = 'enabled';
    this.logEvent({ at: this.now(), event: 'consumer-enabled-supply' });
    return true;
  }

  /** Energy (or gas volume) flows through the meter. */
  recordConsumption(wh: number): void {
    if (!Number.isInteger(wh) || wh < 0) throw new RangeError('consumption is a non-negative integer');
    this.w().activeImportWh += wh;
  }

  // ---------------------------------------------------------------- counters and logs

  highestCounter(source: string): bigint | undefined {
    const c = this.s.counters;
    if (!c) return undefined;
    for (let i = 0; i < c.length; i += 2) if (c[i] === source) return c[i + 1] as bigint;
    return undefined;
  }

  protected acceptCounter(source: string, counter: bigint): void {
    const w = this.w();
    // Array literals are allocated at their exact size; push onto [] would reserve room for 17.
    if (!w.counters) {
      w.counters = [source, counter];
      return;
    }
    const c = w.counters;
    for (let i = 0; i < c.length; i += 2) {
      if (c[i] === source) {
        c[i + 1] = counter;
        return;
      }
    }
    c.push(source, counter);
  }

  protected logSecurity(e: Omit<SecurityEntry, 'at'>): void {
    const w = this.w();
    w.securityLog = appendCapped(w.securityLog, { at: this.now(), ...e });
  }

  private logEvent(e: EventEntry): void {
    const w = this.w();
    w.eventLog = appendCapped(w.eventLog, e);
  }

  protected nextAlertCounter(): number {
    return ++this.w().alertCounter;
  }

  // ---------------------------------------------------------------- operations

  /**
   * Carries out an authenticated operation. Future-dated ones are scheduled (replacing a pending change of the
   * same kind, as rewriting a passive object does) and cancelled by an execution time of "never".
   */
  protected perform(op: MeterOperation, ctx: CommandContext, alertInfo?: unknown): OperationOutcome {
    const kind = PENDING_KIND[op.op];
    let outcome: OperationOutcome;
    if (kind && 'execution' in op) {
      const e = op.execution;
      if (e.kind === 'never') {
        this.dropPending(kind);
        outcome = { status: 'cancelled' };
      } else if (e.kind === 'at' && e.at.getTime() > this.now()) {
        this.dropPending(kind);
        const at = e.at.getTime();
        const change: PendingChange = { kind, op, ctx, at, alertInfo, timer: this.clock.schedule(at, () => this.runPending(change)) };
        (this.w().pending ??= []).push(change);
        outcome = { status: 'scheduled' };
      } else {
        this.dropPending(kind);
        outcome = this.apply(op);
      }
    } else {
      outcome = this.apply(op);
    }
    if (op.op !== 'read') this.logEvent({ at: this.now(), event: outcome.status, useCase: ctx.useCase, source: ctx.source, counter: ctx.counter, ...(outcome.reason ? { detail: outcome.reason } : {}) });
    return outcome;
  }

  /** Called when a scheduled change has executed, so the generation can raise its alerts. */
  protected abstract futureDatedExecuted(change: PendingChange): void;

  /** What is wrong with a saved pending change that only this generation can tell (its use case, its alert), if anything. */
  protected abstract pendingChangeProblem(change: Omit<PendingChange, 'timer'>): string | null;

  private runPending(change: PendingChange): void {
    const rest = this.s.pending?.filter((p) => p !== change) ?? [];
    this.w().pending = rest.length ? rest : null;
    this.apply(change.op);
    this.logEvent({ at: this.now(), event: 'future-dated-executed', useCase: change.ctx.useCase, source: change.ctx.source, counter: change.ctx.counter });
    this.futureDatedExecuted(change);
  }

  private dropPending(kind: PendingKind): void {
    const pending = this.s.pending;
    if (!pending) return;
    for (const p of pending) if (p.kind === kind) p.timer.cancel();
    const rest = pending.filter((p) => p.kind !== kind);
    this.w().pending = rest.length ? rest : null;
  }

  private apply(op: MeterOperation): OperationOutcome {
    const done: OperationOutcome = { status: 'executed' };
    const s = this.s;
    switch (op.op) {
      case 'payment-mode': {
        const w = this.w();
        w.paymentMode = op.target.mode;
        if (op.target.mode === 'prepayment') {
          w.suspendDebtDisabled = op.target.suspendDebtDisabled;
          w.suspendDebtEmergency = op.target.suspendDebtEmergency;
          w.disablementThreshold = op.target.disablementThreshold;
        }
        return done;
      }
      case 'adjust-balance':
        this.w().meterBalance = clampInt32(s.meterBalance + op.amount);
        return done;
      case 'set-balance':
        this.w().meterBalance = op.amount;
        return done;
      case 'reset-balances': {
        const w = this.w();
        w.meterBalance = 0;
        w.emergencyCreditBalance = 0;
        w.emergencyCreditActive = false;
        w.accumulatedDebt = 0;
        return done;
      }
      case 'prepayment-configuration':
        this.w().prepayment = Object.freeze({ ...op.configuration });
        return done;
      case 'top-up': {
        const { amount, counter } = readUtrn(op.utrn);
        if (s.utrnCounter !== null && counter <= s.utrnCounter) return { status: 'refused', reason: 'UTRN already used' };
        const w = this.w();
        w.utrnCounter = counter;
        w.meterBalance = clampInt32(s.meterBalance + amount);
        return done;
      }
      case 'update-debt': {
        const w = this.w();
        w.timeDebt1 = clampInt32(s.timeDebt1 + op.debt.timeDebt1);
        w.timeDebt2 = clampInt32(s.timeDebt2 + op.debt.timeDebt2);
        w.paymentDebt = clampInt32(s.paymentDebt + op.debt.paymentDebt);
        w.debtRecovery = Object.freeze({ ...op.debt.recovery });
        return done;
      }
      case 'activate-emergency-credit': {
        if (s.paymentMode !== 'prepayment') return { status: 'refused', reason: 'not in prepayment mode' };
        if (s.emergencyCreditActive) return { status: 'refused', reason: 'emergency credit already active' };
        if (s.meterBalance > s.prepayment.emergencyCreditThreshold) return { status: 'refused', reason: 'meter balance above the emergency credit threshold' };
        const w = this.w();
        w.emergencyCreditActive = true;
        // The limit is an unsigned 32-bit setting; the balance, like every balance, is a signed 32-bit register.
        w.emergencyCreditBalance = clampInt32(s.prepayment.emergencyCreditLimit);
        return done;
      }
      case 'tariff':
        this.w().tariff = Object.freeze({ ...op.tariff, unitRates: Object.freeze([...op.tariff.unitRates]) as unknown as number[] });
        return done;
      case 'supply':
        if (op.action === 'enable' && s.variant === 'gsme') return { status: 'refused', reason: 'a gas valve cannot be opened remotely' };
        if (op.action === 'enable') this.w().supply = 'enabled';
        else if (op.action === 'disable') this.w().supply = 'disabled';
        else if (s.supply !== 'enabled') this.w().supply = 'armed';
        return done;
      case 'read':
        return { status: 'executed', read: this.read(op.what) };
    }
  }

  protected read(what: 'import-registers' | 'prepay-values'): ReadResult {
    const s = this.s;
    if (what === 'import-registers') return { what, activeImportWh: s.activeImportWh };
    return {
      what,
      paymentMode: s.paymentMode,
      meterBalance: s.meterBalance,
      emergencyCreditBalance: s.emergencyCreditBalance,
      accumulatedDebt: s.accumulatedDebt,
      timeDebt1: s.timeDebt1,
      timeDebt2: s.timeDebt2,
      paymentDebt: s.paymentDebt,
    };
  }

  // ---------------------------------------------------------------- snapshot

  /** Who the meter trusts, without keys (public key fingerprints at most). */
  protected abstract trustSnapshot(): Json;

  /** Deterministic JSON of everything observable (keys sorted; no key material; counters as decimal strings). */
  snapshot(): MeterSnapshot {
    const s = this.s;
    const iso = (ms: number) => new Date(ms).toISOString();
    const pendingOf = (kind: PendingKind): Json => {
      const p = s.pending?.find((x) => x.kind === kind);
      if (!p) return null;
      const detail: Json =
        p.op.op === 'payment-mode'
          ? paymentTargetJson(p.op.target)
          : p.op.op === 'tariff'
            ? { digest: p.op.tariff.digest }
            : configurationJson(p.op.configuration);
      return { counter: p.ctx.counter.toString(), executeAt: executionToJSON(p.op.execution), source: p.ctx.source, useCase: p.ctx.useCase, change: detail };
    };
    // The emergency credit values are shown under emergencyCredit.
    const { emergencyCreditLimit: _limit, emergencyCreditThreshold: _threshold, ...prepaymentConfiguration } = configurationJson(s.prepayment);
    const counters: { [k: string]: Json } = {};
    const c = s.counters ?? [];
    for (let i = 0; i < c.length; i += 2) counters[c[i] as string] = (c[i + 1] as bigint).toString();
    const snap = {
      eui: this.eui,
      generation: this.generation,
      variant: s.variant,
      clock: iso(this.now()),
      paymentMode: s.paymentMode,
      prepaymentSettings: { suspendDebtDisabled: s.suspendDebtDisabled, suspendDebtEmergency: s.suspendDebtEmergency, disablementThreshold: s.disablementThreshold },
      meterBalance: s.meterBalance,
      emergencyCredit: { active: s.emergencyCreditActive, balance: s.emergencyCreditBalance, limit: s.prepayment.emergencyCreditLimit, threshold: s.prepayment.emergencyCreditThreshold },
      debt: {
        accumulatedDebt: s.accumulatedDebt,
        timeDebt1: s.timeDebt1,
        timeDebt2: s.timeDebt2,
        paymentDebt: s.paymentDebt,
        recovery: { ...s.debtRecovery, timeDebt1PriceScale: s.debtRecovery.timeDebt1PriceScale ?? null, timeDebt2PriceScale: s.debtRecovery.timeDebt2PriceScale ?? null },
      },
      prepaymentConfiguration,
      supply: s.supply,
      tariff: { standingCharge: s.tariff.standingCharge, unitRates: [...s.tariff.unitRates], digest: s.tariff.digest },
      registers: { activeImportWh: s.activeImportWh },
      pending: { paymentMode: pendingOf('paymentMode'), prepaymentConfiguration: pendingOf('prepaymentConfiguration'), tariff: pendingOf('tariff') },
      counters,
      utrnCounter: s.utrnCounter === null ? null : s.utrnCounter.toString(),
      alertCounter: String(s.alertCounter),
      trustAnchors: this.trustSnapshot(),
      securityLog: (s.securityLog ?? []).map((e) => dropUndefined({ at: iso(e.at), code: e.code, reason: e.reason, source: e.source, counter: e.counter?.toString(), messageCode: e.messageCode === undefined ? undefined : `0x${e.messageCode.toString(16).toUpperCase().padStart(4, '0')}` })),
      eventLog: (s.eventLog ?? []).map((e) => dropUndefined({ at: iso(e.at), event: e.event, useCase: e.useCase, source: e.source, counter: e.counter?.toString(), detail: e.detail })),
    };
    return canonical(snap as unknown as Json) as unknown as MeterSnapshot;
  }

  // ---------------------------------------------------------------- persistence

  /**
   * Everything needed to bring this meter back after a restart, as text: the whole state record with pending
   * changes (without their timers). Keys are not included: they are seed-derived or held by the key source.
   */
  exportState(): string {
    const s = this.s;
    const environment = this.environmentState();
    const record = { ...s, pending: s.pending?.map(({ timer: _timer, ...p }) => p) ?? null, ...(environment === undefined ? {} : { environment }) };
    return JSON.stringify(record, (_k, v: unknown) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v));
  }

  /**
   * What the meter holds beside its state record and keeps across a restart (a SMETS2+ meter's trust anchors):
   * undefined when nothing. Saved as `environment`; a state saved without it leaves what the meter was made with.
   */
  protected environmentState(): Json | undefined {
    return undefined;
  }

  /** Reads a saved `environment`, throwing on one that is not this meter's; applying what it returns puts it back. */
  protected readEnvironment(_saved: unknown): () => void {
    throw new Error('an environment this kind of meter does not keep');
  }

  /**
   * Replaces this meter's state with an exported one and schedules its pending changes again. A text that is not
   * a meter's state (damaged in its store) is refused and leaves the meter as it was.
   */
  importState(text: string): void {
    const before = this.s;
    const scheduled: PendingChange[] = [];
    let restoreEnvironment: (() => void) | null = null;
    try {
      const record = JSON.parse(text, (_k, v: unknown) => {
        if (v && typeof v === 'object' && '$bigint' in v) return BigInt((v as { $bigint: string }).$bigint);
        return v;
      }) as StateRecord & { pending: (Omit<PendingChange, 'timer'> & { op: { execution?: { kind: string; at?: string | Date } } })[] | null; environment?: unknown };
      if (!record || typeof record !== 'object' || Array.isArray(record)) throw new Error('not an object');
      const { environment, ...state } = record;
      const problem = savedStateProblem(state);
      if (problem) throw new Error(problem);
      if (environment !== undefined) restoreEnvironment = this.readEnvironment(environment);
      // A pending change is a future-dated one, due at its execution time: one without that time is refused before
      // anything is scheduled on the clock (which other meters may share).
      const pending = (state.pending ?? []).map((p) => {
        const execution = p.op.execution;
        const at = execution?.kind === 'at' ? new Date(execution.at ?? NaN) : null;
        if (!at || !Number.isFinite(p.at) || at.getTime() !== p.at) throw new Error('a pending change without a valid execution time');
        const change = { ...p, op: { ...p.op, execution: { kind: 'at', at } } } as PendingChange;
        const wrong = this.pendingChangeProblem(change);
        if (wrong) throw new Error(`a pending change: ${wrong}`);
        return change;
      });
      for (const change of pending) {
        change.timer = this.clock.schedule(change.at, () => this.runPending(change));
        scheduled.push(change);
      }
      this.s = { ...state, pending: pending.length ? pending : null };
      // What every reader of the meter needs must be there: a snapshot reads all of it.
      this.snapshot();
    } catch (e) {
      for (const p of scheduled) p.timer.cancel();
      this.s = before;
      throw new Error(`${this.eui}: not a saved meter state (${(e as Error).message})`);
    }
    restoreEnvironment?.();
    for (const p of before.pending ?? []) p.timer.cancel();
  }
}

function appendCapped<T>(log: T[] | null, entry: T): T[] {
  if (!log) return [entry];
  log.push(entry);
  if (log.length > LOG_LIMIT) log.shift();
  return log;
}

function paymentTargetJson(t: Extract<MeterOperation, { op: 'payment-mode' }>['target']): Json {
  return t.mode === 'credit' ? { mode: 'credit' } : { mode: 'prepayment', suspendDebtDisabled: t.suspendDebtDisabled, suspendDebtEmergency: t.suspendDebtEmergency, disablementThreshold: t.disablementThreshold };
}

/** A prepayment configuration as the snapshot shows it: every value it sets (null for one this meter kind has not). */
function configurationJson(c: PrepaymentConfiguration): { [k: string]: Json } {
  return { ...c, debtRecoveryRateCapPeriod: c.debtRecoveryRateCapPeriod ?? null };
}

function dropUndefined(o: { [k: string]: Json | undefined }): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

function clampInt32(v: number): number {
  return Math.max(-0x80000000, Math.min(0x7fffffff, v));
}

export interface PendingSnapshot {
  counter: string;
  executeAt: string;
  source: string;
  useCase: string;
  change: Json;
}

/** The snapshot's shape (keys are serialised in sorted order). */
export interface MeterSnapshot {
  [key: string]: Json;
  eui: string;
  generation: Generation;
  variant: MeterVariant;
  clock: string;
  paymentMode: 'credit' | 'prepayment';
  prepaymentSettings: { suspendDebtDisabled: boolean; suspendDebtEmergency: boolean; disablementThreshold: number };
  meterBalance: number;
  emergencyCredit: { active: boolean; balance: number; limit: number; threshold: number };
  debt: { [key: string]: Json };
  prepaymentConfiguration: { [key: string]: Json };
  supply: SupplyState;
  tariff: { standingCharge: number; unitRates: number[]; digest: string };
  registers: { activeImportWh: number };
  pending: { paymentMode: Json; prepaymentConfiguration: Json; tariff: Json };
  counters: { [source: string]: string };
  utrnCounter: string | null;
  alertCounter: string;
  trustAnchors: Json;
  securityLog: Json[];
  eventLog: Json[];
}
