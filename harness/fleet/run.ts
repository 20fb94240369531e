/**
 * The coordinator of a fleet run: one worker thread per shard (an EUI range with its own DCC, store, User and
 * meters), set up in parallel; then the Authority's instruction on every shard and the jobs sent in batches
 * (two in flight per worker, so a worker never waits for the next); then the invariant on every meter.
 *
 * `seconds` is the event's wall time: from the instruction to the last response delivered and verified.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Defect } from '../../emulator/service.ts';
import type { InvariantResult } from './invariant.ts';
import { FleetPlan, type FleetOptions } from './plan.ts';
import { addTally, type CryptoOps, emptyTally, type Tally } from './shard.ts';
import type { FromWorker, ToWorker } from './worker.ts';

/** The JSON summary, exactly the fields issue #8 names. */
export interface FleetSummary {
  meters: number;
  commandsSent: number;
  commandsApplied: number;
  refused: number;
  seconds: number;
  commandsPerSecond: number;
  peakRssBytes: number;
  invariantViolations: number;
  cryptoOps: CryptoOps;
}

export interface FleetReport {
  summary: FleetSummary;
  tally: Tally;
  invariant: InvariantResult;
  /** Shards the run used: the workers asked for, at most one per meter. */
  workers: number;
  /** Meters emulated: the failed supplier's fleet and the healthy supplier's. */
  emulated: number;
  setupSeconds: number;
  checkSeconds: number;
  /** CPU time of the whole process (every thread) during the event. */
  eventCpuSeconds: number;
  /** Time the shards spent inside the counted crypto operations during the event, summed over the shards. */
  cryptoSeconds: number;
  /** Deliveries to the party that no job waited for or that did not verify (none expected). */
  strayDeliveries: number;
  /** Every adversarial request refused, every switch executed, no violation. */
  passed: boolean;
}

export interface FleetProgress {
  /** performance.now() when the Authority's instruction went out: the event's start, as `seconds` counts it. */
  startedAt: number;
  done: number;
  total: number;
  executed: number;
  refused: number;
}

export interface FleetRunOptions extends FleetOptions {
  /** Where the shards' stores go (a temporary directory by default, removed afterwards); new or empty. */
  stateDir?: string;
  batchSize?: number;
  /** Jobs in flight per shard. */
  concurrency?: number;
  /** Compare every meter field by field, not only those a frame reached. */
  deep?: boolean;
  /** Seeded DCC defects, for negative controls (the run must then fail). */
  defects?: readonly Defect[];
  onPhase?: (message: string) => void;
  onProgress?: (p: FleetProgress) => void;
  /** Stops the run (Ctrl-C): the shards are terminated and a temporary state directory removed. */
  signal?: AbortSignal;
}

export class FleetInterrupted extends Error {
  override readonly name = 'FleetInterrupted';
}

export function autoWorkers(): number {
  return availableParallelism();
}

const ENTRY = new URL('./worker-entry.mjs', import.meta.url);

class ShardWorker {
  private readonly worker: Worker;
  private waiter: ((m: FromWorker) => void) | null = null;
  private failure: Error | null = null;
  private closed = false;
  onBatch: ((m: Extract<FromWorker, { type: 'batch-done' }>) => void) | null = null;

  constructor(readonly index: number) {
    this.worker = new Worker(ENTRY);
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'batch-done') return this.onBatch?.(m);
      if (m.type === 'closed') this.closed = true;
      if (m.type === 'error') this.fail(new Error(`shard ${index}: ${m.message}`));
      else this.waiter?.(m);
    });
    // An uncaught exception in the worker: say which shard, as its own `error` messages do.
    this.worker.on('error', (e: unknown) => this.fail(new Error(`shard ${index}: ${e instanceof Error ? e.message : String(e)}`, { cause: e })));
    // Ending before it said `closed` is a failure whatever the code: with 0, the run would wait for it for ever.
    this.worker.on('exit', (code) => this.closed || this.fail(new Error(`shard ${index} ended with code ${code} before the run was over`)));
  }

  private failListeners: ((e: Error) => void)[] = [];
  private fail(e: Error): void {
    this.failure ??= e;
    for (const l of this.failListeners.splice(0)) l(e);
  }

  /** Sends a message and resolves with the worker's next reply of `type`. */
  ask<T extends FromWorker['type']>(m: ToWorker, type: T): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.failListeners.push(reject);
      this.waiter = (reply) => {
        if (reply.type !== type) return;
        this.waiter = null;
        resolve(reply as Extract<FromWorker, { type: T }>);
      };
      this.worker.postMessage(m);
    });
  }

  post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  onFailure(l: (e: Error) => void): void {
    if (this.failure) l(this.failure);
    else this.failListeners.push(l);
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

export async function runFleet(options: FleetRunOptions): Promise<FleetReport> {
  // Never more shards than meters: a shard without one of the failed supplier's meters only costs its set-up.
  const o = { ...options, workers: Math.min(options.workers, options.meters) };
  const plan = new FleetPlan(o);
  const phase = o.onPhase ?? (() => {});
  const base = o.stateDir ?? mkdtempSync(join(tmpdir(), 'smets-hil-fleet-'));
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 200);
  const workers = Array.from({ length: o.workers }, (_, k) => new ShardWorker(k));
  const interrupted = new Promise<never>((_, reject) => {
    const stop = () => reject(new FleetInterrupted('the fleet run was interrupted'));
    if (o.signal?.aborted) stop();
    else o.signal?.addEventListener('abort', stop, { once: true });
  });
  interrupted.catch(() => undefined);
  // Every wait on the shards ends early when the run is stopped; `finally` then cleans up.
  const orStop = <T>(p: Promise<T>): Promise<T> => Promise.race([p, interrupted]);
  try {
    const t0 = performance.now();
    phase(`setting up ${o.workers} DCC shard${o.workers > 1 ? 's' : ''}: ${plan.total.toLocaleString('en-GB')} meters registered, keys attested, meters created`);
    const ready = await orStop(Promise.all(
      workers.map((w, k) =>
        w.ask({ type: 'init', fleet: pick(o), shard: k, stateDir: join(base, `shard-${k}`), ...(o.concurrency ? { concurrency: o.concurrency } : {}), ...(o.defects ? { defects: o.defects } : {}) }, 'ready'),
      ),
    ));
    const setupSeconds = (performance.now() - t0) / 1000;
    const total = ready.reduce((n, r) => n + r.jobs, 0);
    phase(`set up in ${setupSeconds.toFixed(1)} s; the Authority instructs the SoLR Contingency party: ${total.toLocaleString('en-GB')} commands`);

    const start = performance.now();
    const cpu0 = process.cpuUsage();
    const counterBase = BigInt(Date.now()) * 1000n;
    await orStop(Promise.all(workers.map((w) => w.ask({ type: 'instruct', counterBase: counterBase.toString() }, 'instructed'))));
    const tally = await orStop(runBatches(workers, ready.map((r) => r.jobs), o, total, start));
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);

    phase(`event done in ${seconds.toFixed(1)} s; checking the invariant on every meter`);
    const t1 = performance.now();
    const checked = await orStop(Promise.all(workers.map((w) => w.ask({ type: 'check', deep: o.deep ?? false }, 'checked'))));
    const checkSeconds = (performance.now() - t1) / 1000;
    await orStop(Promise.all(workers.map((w) => w.ask({ type: 'close' }, 'closed'))));
    peakRss = Math.max(peakRss, process.memoryUsage.rss(), process.resourceUsage().maxRSS * 1024);

    const invariant = checked.reduce(
      (a, c) => ({
        checked: a.checked + c.invariant.checked,
        compared: a.compared + c.invariant.compared,
        violations: a.violations + c.invariant.violations,
        applied: a.applied + c.invariant.applied,
        examples: [...a.examples, ...c.invariant.examples].slice(0, 10),
      }),
      { checked: 0, compared: 0, violations: 0, applied: 0, examples: [] } as InvariantResult,
    );
    const cryptoOps = checked.reduce((a, { crypto: { ops } }) => ({ sign: a.sign + ops.sign, verify: a.verify + ops.verify, ecdh: a.ecdh + ops.ecdh }), { sign: 0, verify: 0, ecdh: 0 });
    const cryptoSeconds = checked.reduce((s, c) => s + c.crypto.seconds, 0);
    const commandsSent = tally.switches + tally.adversarial;
    const summary: FleetSummary = {
      meters: o.meters,
      commandsSent,
      commandsApplied: invariant.applied,
      refused: tally.refused,
      seconds: round(seconds, 3),
      commandsPerSecond: round(commandsSent / seconds, 1),
      peakRssBytes: peakRss,
      invariantViolations: invariant.violations,
      cryptoOps,
    };
    const strayDeliveries = checked.reduce((n, c) => n + c.strayDeliveries, 0);
    const passed = strayDeliveries === 0 && invariant.violations === 0 && tally.accepted === 0 && tally.failed === 0 && tally.refused === tally.adversarial && invariant.applied === tally.switches;
    return { summary, tally, invariant, workers: o.workers, emulated: plan.total, setupSeconds: round(setupSeconds, 1), checkSeconds: round(checkSeconds, 1), eventCpuSeconds: round((cpu.user + cpu.system) / 1e6, 3), cryptoSeconds: round(cryptoSeconds, 3), strayDeliveries, passed };
  } finally {
    clearInterval(sampler);
    await Promise.all(workers.map((w) => w.terminate()));
    if (!o.stateDir) rmSync(base, { recursive: true, force: true });
  }
}

/** Hands each worker its own job list in batches, two in flight per worker; resolves when all are done. */
function runBatches(workers: ShardWorker[], jobs: number[], o: FleetRunOptions, total: number, startedAt: number): Promise<Tally> {
  const size = o.batchSize ?? Math.max(16, Math.min(256, Math.ceil(total / (workers.length * 40))));
  const tally = emptyTally();
  let done = 0;
  let open = 0;
  return new Promise((resolve, reject) => {
    const next = workers.map(() => 0);
    const send = (k: number) => {
      const from = next[k]!;
      if (from >= jobs[k]!) return;
      const to = Math.min(jobs[k]!, from + size);
      next[k] = to;
      open++;
      workers[k]!.post({ type: 'batch', id: from, from, to });
    };
    workers.forEach((w, k) => {
      w.onFailure(reject);
      w.onBatch = (m) => {
        open--;
        addTally(tally, m.tally);
        done += m.tally.switches + m.tally.adversarial;
        o.onProgress?.({ startedAt, done, total, executed: tally.executed, refused: tally.refused });
        send(k);
        if (open === 0) resolve(tally);
      };
      send(k);
      send(k);
    });
    if (open === 0) resolve(tally);
  });
}

function pick(o: FleetOptions): FleetOptions {
  return { meters: o.meters, prepayShare: o.prepayShare, smets1Share: o.smets1Share, adversarialShare: o.adversarialShare, workers: o.workers, seed: o.seed };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
