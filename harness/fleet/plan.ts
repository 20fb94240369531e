/**
 * The fleet of a SoLR event, derived from a seed: which meter sits at each index (EUI, kind, payment mode,
 * supplier), how the fleet is sharded by EUI range, and each shard's job list (every prepayment meter of the
 * failed supplier, plus the adversarial requests interleaved). Everything here is a pure function of the options,
 * so a worker, the coordinator or another machine derive the same fleet without exchanging it.
 *
 * Layout: indices [0, N) are the failed supplier's meters; [N, N + M) belong to a healthy supplier (the targets of
 * the adversarial requests for other suppliers' meters, M = ceil(N / 500)). Meter i has EUI 00DB + i in 12 hex
 * digits, so an index range is an EUI range.
 */
import { createHash } from 'node:crypto';
import type { Eui } from '../../protocol/smki/eui.ts';

export interface FleetOptions {
  meters: number;
  prepayShare: number;
  smets1Share: number;
  /** Share of all commands sent that are adversarial. */
  adversarialShare: number;
  workers: number;
  seed: string;
}

export const FLEET_DEFAULTS = { prepayShare: 0.14, smets1Share: 0.37, adversarialShare: 0.05, seed: 'smets-hil fleet' } as const;

export type MeterType = 'ESME' | 'GSME' | 'SMETS1';

export interface MeterSpec {
  index: number;
  eui: Eui;
  type: MeterType;
  twin: boolean;
  fuel: 'electricity' | 'gas';
  prepay: boolean;
  /** The failed supplier's meter (else the healthy supplier's). */
  failedSupplier: boolean;
}

/** Shares of meter kinds that are not options: gas is ~45 % of GB smart meters; twin-element ESMEs are rare. */
const GAS_SHARE = 0.45;
const TWIN_SHARE = 0.05;
const EUI_PREFIX = '00DB';

export function healthyMeterCount(meters: number): number {
  return Math.ceil(meters / 500);
}

export function euiOf(index: number): Eui {
  return (EUI_PREFIX + index.toString(16).toUpperCase().padStart(12, '0')) as Eui;
}

/** The index an EUI of this fleet stands for, or -1. */
export function indexOf(eui: string): number {
  if (eui.length !== 16 || !eui.startsWith(EUI_PREFIX)) return -1;
  const i = Number.parseInt(eui.slice(4), 16);
  return Number.isSafeInteger(i) ? i : -1;
}

/** A 32-bit integer finaliser (murmur3-style): cheap, well mixed, deterministic. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

export class FleetPlan {
  readonly healthy: number;
  private readonly seedWord: number;
  private adversarialList: AdversarialList | undefined;

  constructor(readonly options: FleetOptions) {
    if (!Number.isInteger(options.meters) || options.meters < 1) throw new RangeError('meters must be a positive integer');
    for (const k of ['prepayShare', 'smets1Share'] as const) {
      if (!(options[k] >= 0 && options[k] <= 1)) throw new RangeError(`${k} must be within [0, 1]`);
    }
    if (!(options.adversarialShare >= 0 && options.adversarialShare < 1)) throw new RangeError('adversarialShare must be within [0, 1)');
    if (!Number.isInteger(options.workers) || options.workers < 1) throw new RangeError('workers must be a positive integer');
    this.healthy = healthyMeterCount(options.meters);
    this.seedWord = createHash('sha256').update(options.seed).digest().readUInt32BE(0);
  }

  get total(): number {
    return this.options.meters + this.healthy;
  }

  /** The fleet's adversarial requests (made on first use, a pass over the failed supplier's meters). */
  adversarial(): AdversarialList {
    return (this.adversarialList ??= fleetAdversarial(this));
  }

  private uniform(index: number, salt: number): number {
    return mix32(this.seedWord ^ mix32(index * 8 + salt)) / 4294967296;
  }

  meter(index: number): MeterSpec {
    const smets1 = this.uniform(index, 1) < this.options.smets1Share;
    const gas = this.uniform(index, 2) < GAS_SHARE;
    const type: MeterType = smets1 ? 'SMETS1' : gas ? 'GSME' : 'ESME';
    return {
      index,
      eui: euiOf(index),
      type,
      twin: type === 'ESME' && this.uniform(index, 3) < TWIN_SHARE,
      fuel: gas ? 'gas' : 'electricity',
      prepay: this.uniform(index, 4) < this.options.prepayShare,
      failedSupplier: index < this.options.meters,
    };
  }

  /** Shard k's two EUI ranges: its slice of the failed supplier's meters and of the healthy supplier's. */
  shard(k: number): ShardRange {
    const { meters, workers } = this.options;
    const cut = (n: number, i: number) => Math.floor((n * i) / workers);
    return {
      shard: k,
      failed: [cut(meters, k), cut(meters, k + 1)],
      healthy: [meters + cut(this.healthy, k), meters + cut(this.healthy, k + 1)],
    };
  }
}

export interface ShardRange {
  shard: number;
  failed: [from: number, to: number];
  healthy: [from: number, to: number];
}

/**
 * What a job asks for. `switch`: the SoLR Contingency switch to Credit of a prepayment meter. The rest must be
 * refused: `prepayment` (a switch to prepayment: the content check), `other-srv` (an SRV the role may not send:
 * E2), `altered` (a Pre-Command altered after the DCC issued it: correlation), `other-supplier` (a healthy
 * supplier's meter: E4).
 */
export const JOB_KINDS = ['switch', 'prepayment', 'other-srv', 'altered', 'other-supplier'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export const ADVERSARIAL_KINDS = ['prepayment', 'other-srv', 'altered', 'other-supplier'] as const satisfies readonly JobKind[];

/** A shard's jobs in the order they are sent: meter index and kind (code into JOB_KINDS) per job. */
export interface JobList {
  meter: Int32Array;
  kind: Uint8Array;
  /** An adversarial job's place among the whole fleet's (-1 for a switch): it picks the kind and its variant. */
  ordinal: Int32Array;
  switches: number;
  adversarial: number;
}

/** How many adversarial requests go with this many switches. */
function adversarialFor(plan: FleetPlan, switches: number): number {
  const share = plan.options.adversarialShare;
  return Math.round((switches * share) / (1 - share));
}

/** The whole fleet's adversarial requests, indexed by ordinal: the meter each aims at and its kind. */
export interface AdversarialList {
  meter: Int32Array;
  kind: Uint8Array;
}

/**
 * The fleet's adversarial requests, chosen over the whole fleet so that the same options (the number of workers
 * aside) send the same requests to the same meters however the fleet is sharded. Kinds take turns by ordinal;
 * a kind with no target in the fleet gives its turn to the next. Requests aimed at the failed supplier go to its
 * Credit meters (distinct ones while they last), so every meter has one expected end state.
 */
function fleetAdversarial(plan: FleetPlan): AdversarialList {
  const { meters } = plan.options;
  const credit = new Int32Array(meters);
  const creditSmets2 = new Int32Array(meters);
  let credits = 0;
  let smets2 = 0;
  let switches = 0;
  for (let i = 0; i < meters; i++) {
    const m = plan.meter(i);
    if (m.prepay) switches++;
    else {
      credit[credits++] = i;
      if (m.type !== 'SMETS1') creditSmets2[smets2++] = i;
    }
  }
  const picks = { credit: 0, smets2: 0, healthy: 0 };
  // A large stride spreads the picks through the fleet's EUI range rather than bunching them at its start; one
  // coprime with the list's length visits every entry before any twice (7919 alone would land every pick on the
  // first when the length is a multiple of it).
  const strides = { credit: coprimeStride(credits), smets2: coprimeStride(smets2) };
  const pick = (list: Int32Array, length: number, key: 'credit' | 'smets2'): number | undefined => (length ? list[(picks[key]++ * strides[key]) % length] : undefined);
  const targetFor = (kind: JobKind): number | undefined => {
    if (kind === 'altered') return pick(creditSmets2, smets2, 'smets2');
    if (kind === 'other-supplier') return meters + (picks.healthy++ % plan.healthy);
    return pick(credit, credits, 'credit');
  };
  const count = adversarialFor(plan, switches);
  const list: AdversarialList = { meter: new Int32Array(count), kind: new Uint8Array(count) };
  for (let j = 0; j < count; j++) {
    let kind: JobKind | undefined;
    let target: number | undefined;
    for (let k = 0; k < ADVERSARIAL_KINDS.length && target === undefined; k++) {
      kind = ADVERSARIAL_KINDS[(j + k) % ADVERSARIAL_KINDS.length]!;
      target = targetFor(kind);
    }
    // other-supplier always has a target (the healthy supplier has at least one meter), so every turn is taken.
    list.meter[j] = target!;
    list.kind[j] = JOB_KINDS.indexOf(kind!);
  }
  return list;
}

/** The first stride from 7919 up that shares no factor with `length`, so n * stride mod length takes every value. */
export function coprimeStride(length: number): number {
  const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
  let stride = 7919;
  while (length > 1 && gcd(stride, length) !== 1) stride++;
  return stride;
}

/**
 * Jobs of one shard: a switch for every failed-supplier prepayment meter in its range, in EUI order, with the
 * fleet's adversarial requests aimed at meters in its ranges spread evenly among them.
 */
export function shardJobs(plan: FleetPlan, range: ShardRange): JobList {
  const switches: number[] = [];
  for (let i = range.failed[0]; i < range.failed[1]; i++) if (plan.meter(i).prepay) switches.push(i);
  const fleet = plan.adversarial();
  const within = (i: number) => (i >= range.failed[0] && i < range.failed[1]) || (i >= range.healthy[0] && i < range.healthy[1]);
  const advMeter: number[] = [];
  const advKind: number[] = [];
  const advOrdinal: number[] = [];
  for (let j = 0; j < fleet.meter.length; j++) {
    if (!within(fleet.meter[j]!)) continue;
    advMeter.push(fleet.meter[j]!);
    advKind.push(fleet.kind[j]!);
    advOrdinal.push(j);
  }
  const total = switches.length + advMeter.length;
  const meter = new Int32Array(total);
  const kind = new Uint8Array(total);
  const ordinal = new Int32Array(total).fill(-1);
  let s = 0;
  let a = 0;
  for (let p = 0; p < total; p++) {
    // Adversarial job a goes at position ~(a + 0.5) * total / count: evenly spread through the event.
    const due = a < advMeter.length && (s >= switches.length || p >= Math.floor(((a + 0.5) * total) / advMeter.length));
    if (due) {
      meter[p] = advMeter[a]!;
      kind[p] = advKind[a]!;
      ordinal[p] = advOrdinal[a]!;
      a++;
    } else {
      meter[p] = switches[s++]!;
      kind[p] = 0;
    }
  }
  return { meter, kind, ordinal, switches: switches.length, adversarial: advMeter.length };
}
