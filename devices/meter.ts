/**
 * The state every emulated meter keeps, SMETS2+ or SMETS1, and how operations change it. The generation-
 * specific classes (smets2/meter.ts, smets1/meter.ts) authenticate what arrives, turn it into a MeterOperation
 * and call `perform`; everything a harness can observe comes out of `snapshot()`.
 *
 * Memory: a fleet holds up to ~1.7 M of these, so a meter is one object of small fields. Sub-records that
 * change rarely (tariff, prepayment configuration, debt recovery) start as shared frozen defaults and are
 * replaced, never mutated; counters, logs and pending changes are allocated on first use.
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
import { type ClockTimer, SimClock } from './clock.ts';
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

export abstract class Meter {
  readonly eui: Eui;
  readonly variant: MeterVariant;
  abstract readonly generation: Generation;
  protected readonly clock: SimClock;
  protected output: ((frame: Uint8Array) => void) | null = null;

  paymentMode: 'credit' | 'prepayment';
  suspendDebtDisabled: boolean;
  suspendDebtEmergency: boolean;
  disablementThreshold: number;
  meterBalance: number;
  emergencyCreditActive = false;
  emergencyCreditBalance = 0;
  accumulatedDebt = 0;
  timeDebt1 = 0;
  timeDebt2 = 0;
  paymentDebt = 0;
  debtRecovery: DebtRecovery = DEFAULT_RECOVERY;
  prepayment: PrepaymentConfiguration = DEFAULT_PREPAYMENT;
  supply: SupplyState;
  tariff: Tariff = DEFAULT_TARIFF;
  activeImportWh: number;
  utrnCounter: bigint | null = null;
  alertCounter: number;
  private counters: Map<string, bigint> | null = null;
  private pending: PendingChange[] | null = null;
  private securityLog: SecurityEntry[] | null = null;
  private eventLog: EventEntry[] | null = null;

  constructor(o: MeterOptions) {
    this.eui = o.eui;
    this.variant = o.variant;
    this.clock = o.clock ?? new SimClock();
    const i = o.initial ?? {};
    this.paymentMode = i.paymentMode ?? 'credit';
    this.suspendDebtDisabled = i.suspendDebtDisabled ?? false;
    this.suspendDebtEmergency = i.suspendDebtEmergency ?? false;
    this.disablementThreshold = i.disablementThreshold ?? 0;
    this.meterBalance = i.meterBalance ?? 0;
    if (i.emergencyCreditLimit !== undefined || i.emergencyCreditThreshold !== undefined) {
      this.prepayment = { ...DEFAULT_PREPAYMENT, emergencyCreditLimit: i.emergencyCreditLimit ?? DEFAULT_PREPAYMENT.emergencyCreditLimit, emergencyCreditThreshold: i.emergencyCreditThreshold ?? DEFAULT_PREPAYMENT.emergencyCreditThreshold };
    }
    this.supply = i.supply ?? 'enabled';
    this.activeImportWh = i.activeImportWh ?? 0;
    this.alertCounter = i.alertCounter ?? 0;
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
    if (this.supply !== 'armed') return false;
    this.supply = 'enabled';
    this.logEvent({ at: this.now(), event: 'consumer-enabled-supply' });
    return true;
  }

  /** Energy (or gas volume) flows through the meter. */
  recordConsumption(wh: number): void {
    if (!Number.isInteger(wh) || wh < 0) throw new RangeError('consumption is a non-negative integer');
    this.activeImportWh += wh;
  }

  // ---------------------------------------------------------------- counters and logs

  highestCounter(source: string): bigint | undefined {
    return this.counters?.get(source);
  }

  protected acceptCounter(source: string, counter: bigint): void {
    (this.counters ??= new Map()).set(source, counter);
  }

  protected logSecurity(e: Omit<SecurityEntry, 'at'>): void {
    const log = (this.securityLog ??= []);
    log.push({ at: this.now(), ...e });
    if (log.length > LOG_LIMIT) log.shift();
  }

  private logEvent(e: EventEntry): void {
    const log = (this.eventLog ??= []);
    log.push(e);
    if (log.length > LOG_LIMIT) log.shift();
  }

  protected nextAlertCounter(): number {
    return ++this.alertCounter;
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
        (this.pending ??= []).push(change);
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

  private runPending(change: PendingChange): void {
    this.pending = this.pending?.filter((p) => p !== change) ?? null;
    if (this.pending?.length === 0) this.pending = null;
    this.apply(change.op);
    this.logEvent({ at: this.now(), event: 'future-dated-executed', useCase: change.ctx.useCase, source: change.ctx.source, counter: change.ctx.counter });
    this.futureDatedExecuted(change);
  }

  private dropPending(kind: PendingKind): void {
    if (!this.pending) return;
    for (const p of this.pending) if (p.kind === kind) p.timer.cancel();
    this.pending = this.pending.filter((p) => p.kind !== kind);
    if (this.pending.length === 0) this.pending = null;
  }

  private apply(op: MeterOperation): OperationOutcome {
    const done: OperationOutcome = { status: 'executed' };
    switch (op.op) {
      case 'payment-mode':
        this.paymentMode = op.target.mode;
        if (op.target.mode === 'prepayment') {
          this.suspendDebtDisabled = op.target.suspendDebtDisabled;
          this.suspendDebtEmergency = op.target.suspendDebtEmergency;
          this.disablementThreshold = op.target.disablementThreshold;
        }
        return done;
      case 'adjust-balance':
        this.meterBalance = clampInt32(this.meterBalance + op.amount);
        return done;
      case 'set-balance':
        this.meterBalance = op.amount;
        return done;
      case 'reset-balances':
        this.meterBalance = 0;
        this.emergencyCreditBalance = 0;
        this.emergencyCreditActive = false;
        this.accumulatedDebt = 0;
        return done;
      case 'prepayment-configuration':
        this.prepayment = Object.freeze({ ...op.configuration });
        return done;
      case 'top-up': {
        const { amount, counter } = readUtrn(op.utrn);
        if (this.utrnCounter !== null && counter <= this.utrnCounter) return { status: 'refused', reason: 'UTRN already used' };
        this.utrnCounter = counter;
        this.meterBalance = clampInt32(this.meterBalance + amount);
        return done;
      }
      case 'update-debt':
        this.timeDebt1 = clampInt32(this.timeDebt1 + op.debt.timeDebt1);
        this.timeDebt2 = clampInt32(this.timeDebt2 + op.debt.timeDebt2);
        this.paymentDebt = clampInt32(this.paymentDebt + op.debt.paymentDebt);
        this.debtRecovery = Object.freeze({ ...op.debt.recovery });
        return done;
      case 'activate-emergency-credit':
        if (this.paymentMode !== 'prepayment') return { status: 'refused', reason: 'not in prepayment mode' };
        if (this.emergencyCreditActive) return { status: 'refused', reason: 'emergency credit already active' };
        if (this.meterBalance > this.prepayment.emergencyCreditThreshold) return { status: 'refused', reason: 'meter balance above the emergency credit threshold' };
        this.emergencyCreditActive = true;
        this.emergencyCreditBalance = this.prepayment.emergencyCreditLimit;
        return done;
      case 'tariff':
        this.tariff = Object.freeze({ ...op.tariff, unitRates: Object.freeze([...op.tariff.unitRates]) as unknown as number[] });
        return done;
      case 'supply':
        if (op.action === 'enable' && this.variant === 'gsme') return { status: 'refused', reason: 'a gas valve cannot be opened remotely' };
        if (op.action === 'enable') this.supply = 'enabled';
        else if (op.action === 'disable') this.supply = 'disabled';
        else if (this.supply !== 'enabled') this.supply = 'armed';
        return done;
      case 'read':
        return { status: 'executed', read: this.read(op.what) };
    }
  }

  protected read(what: 'import-registers' | 'prepay-values'): ReadResult {
    if (what === 'import-registers') return { what, activeImportWh: this.activeImportWh };
    return {
      what,
      paymentMode: this.paymentMode,
      meterBalance: this.meterBalance,
      emergencyCreditBalance: this.emergencyCreditBalance,
      accumulatedDebt: this.accumulatedDebt,
      timeDebt1: this.timeDebt1,
      timeDebt2: this.timeDebt2,
      paymentDebt: this.paymentDebt,
    };
  }

  // ---------------------------------------------------------------- snapshot

  /** Who the meter trusts, without keys (public key fingerprints at most). */
  protected abstract trustSnapshot(): Json;

  /** Deterministic JSON of everything observable: see README "Device snapshots" for the field list. */
  snapshot(): MeterSnapshot {
    const iso = (ms: number) => new Date(ms).toISOString();
    const pendingOf = (kind: PendingKind): Json => {
      const p = this.pending?.find((x) => x.kind === kind);
      if (!p) return null;
      const detail: Json =
        p.op.op === 'payment-mode'
          ? paymentTargetJson(p.op.target)
          : p.op.op === 'tariff'
            ? { digest: p.op.tariff.digest }
            : { calendar: p.op.configuration.calendar };
      return { counter: p.ctx.counter.toString(), executeAt: executionToJSON(p.op.execution), source: p.ctx.source, useCase: p.ctx.useCase, change: detail };
    };
    const counters: { [k: string]: Json } = {};
    for (const [k, v] of this.counters ?? []) counters[k] = v.toString();
    const snap = {
      eui: this.eui,
      generation: this.generation,
      variant: this.variant,
      clock: iso(this.now()),
      paymentMode: this.paymentMode,
      prepaymentSettings: { suspendDebtDisabled: this.suspendDebtDisabled, suspendDebtEmergency: this.suspendDebtEmergency, disablementThreshold: this.disablementThreshold },
      meterBalance: this.meterBalance,
      emergencyCredit: { active: this.emergencyCreditActive, balance: this.emergencyCreditBalance, limit: this.prepayment.emergencyCreditLimit, threshold: this.prepayment.emergencyCreditThreshold },
      debt: { accumulatedDebt: this.accumulatedDebt, timeDebt1: this.timeDebt1, timeDebt2: this.timeDebt2, paymentDebt: this.paymentDebt, recovery: { ...this.debtRecovery } },
      prepaymentConfiguration: {
        lowCreditThreshold: this.prepayment.lowCreditThreshold,
        maxMeterBalance: this.prepayment.maxMeterBalance,
        maxCreditThreshold: this.prepayment.maxCreditThreshold,
        debtRecoveryRateCap: this.prepayment.debtRecoveryRateCap,
        calendar: this.prepayment.calendar,
      },
      supply: this.supply,
      tariff: { standingCharge: this.tariff.standingCharge, unitRates: [...this.tariff.unitRates], digest: this.tariff.digest },
      registers: { activeImportWh: this.activeImportWh },
      pending: { paymentMode: pendingOf('paymentMode'), prepaymentConfiguration: pendingOf('prepaymentConfiguration'), tariff: pendingOf('tariff') },
      counters,
      utrnCounter: this.utrnCounter === null ? null : this.utrnCounter.toString(),
      alertCounter: String(this.alertCounter),
      trustAnchors: this.trustSnapshot(),
      securityLog: (this.securityLog ?? []).map((e) => dropUndefined({ at: iso(e.at), code: e.code, reason: e.reason, source: e.source, counter: e.counter?.toString(), messageCode: e.messageCode === undefined ? undefined : `0x${e.messageCode.toString(16).toUpperCase().padStart(4, '0')}` })),
      eventLog: (this.eventLog ?? []).map((e) => dropUndefined({ at: iso(e.at), event: e.event, useCase: e.useCase, source: e.source, counter: e.counter?.toString(), detail: e.detail })),
    };
    return canonical(snap as unknown as Json) as unknown as MeterSnapshot;
  }
}

function paymentTargetJson(t: Extract<MeterOperation, { op: 'payment-mode' }>['target']): Json {
  return t.mode === 'credit' ? { mode: 'credit' } : { mode: 'prepayment', suspendDebtDisabled: t.suspendDebtDisabled, suspendDebtEmergency: t.suspendDebtEmergency, disablementThreshold: t.disablementThreshold };
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
