/**
 * Runs scenarios: a fresh world per attempt, every step under its timeout, device snapshots around every step,
 * and the two invariants after each one:
 *  - every device changed only where the step allows (what the request's use case touches on success; nothing
 *    when it is refused);
 *  - SoLR Contingency traffic changed nothing on a device but its payment mode, and only to Credit.
 * A violation fails the scenario with the diff. Verdicts: pass, fail (the product misbehaved), error (a link,
 * rig or the harness failed), skip. Retries happen only for errors matching the scenario's retry pattern, and
 * every attempt is kept.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { expectedChanges } from '../../devices/expected-changes.ts';
import { diffSnapshots, type Json, unexpectedChanges } from '../../devices/snapshot.ts';
import { DEFAULT_DELAY_MS } from '../../devices/transports/faults.ts';
import type { Defect } from '../../emulator/service.ts';
import type { Eui } from '../../protocol/smki/eui.ts';
import { type AttemptRecord, type DeviceDiff, type FieldChange, RUN_INTERRUPTED as INTERRUPTED, type RunRecord, type StepRecord, summarize, type TestRecord, type Verdict } from '../results.ts';
import type { LoadedScenario } from '../scenarios/loader.ts';
import { durationMs } from '../scenarios/schema.ts';
import type { DevicePool } from './device-pool.ts';
import { InfrastructureError, ProductFailure, runStep, type StepOutcome } from './steps.ts';
import { WorldInstance } from './world.ts';

export interface RunListener {
  onTestStart?(test: { id: string; title: string }): void;
  /** Before each attempt at a test, the first included (an attempt may end before any step: its world failed). */
  onAttemptStart?(test: { id: string }, attempt: number): void;
  onStepEnd?(test: { id: string }, step: StepRecord): void;
  onTestEnd?(test: TestRecord): void;
}

export interface RunOptions {
  /** A fresh device pool for each attempt. */
  pool: () => Promise<DevicePool>;
  target?: string;
  defects?: readonly Defect[];
  scAllowedSrvs?: readonly string[];
  listener?: RunListener;
  /** Whole-run limit; scenarios not started in time are skipped. */
  runTimeoutMs?: number;
  scenarioTimeoutMs?: number;
  stepTimeoutMs?: number;
  deviceTimeoutMs?: number;
  options?: Record<string, unknown>;
  version?: string;
  /**
   * Interrupts the run (Ctrl-C, SIGTERM): the step under way ends in error, its world and pool are closed, and
   * the scenarios not started are skipped; the run record comes back as usual, for the reports to be written.
   */
  signal?: AbortSignal;
}

class StepTimeout extends InfrastructureError {}

/** What stops a step, or setting up a world, when the run is interrupted. */
class RunInterrupted extends StepTimeout {
  constructor() {
    super(INTERRUPTED);
  }
}

/**
 * `p`, or a StepTimeout after `ms` saying `message` (or once `signal` aborts, saying the run was interrupted).
 * What `p` yields after that goes to `late` (to be closed).
 */
function withTimeout<T>(p: Promise<T>, ms: number, message: string, late?: (value: T) => unknown, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout;
  let timedOut = false;
  let onAbort: (() => void) | undefined;
  const done = () => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  };
  return Promise.race([
    p.then(
      (value) => {
        done();
        if (timedOut) void Promise.resolve(late?.(value)).catch(() => {});
        return value;
      },
      (e: unknown) => {
        done();
        throw e;
      },
    ),
    new Promise<never>((_, reject) => {
      const give = (e: StepTimeout) => {
        timedOut = true;
        done();
        reject(e);
      };
      if (signal?.aborted) return give(new RunInterrupted());
      timer = setTimeout(() => give(new StepTimeout(message)), ms);
      onAbort = () => give(new RunInterrupted());
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
  ]);
}

/** How long closing a world or a pool may take before the run goes on without it. */
const CLOSE_TIMEOUT_MS = 10_000;

/** How long a stopped step may take to end (a request under way is aborted at once; nothing else should take long). */
const STOP_TIMEOUT_MS = 5_000;

function snapshots(world: WorldInstance): Map<Eui, Json> {
  const out = new Map<Eui, Json>();
  for (const d of world.devices.values()) {
    const s = world.pool.snapshot(d.eui);
    if (s !== undefined) out.set(d.eui, s as Json);
  }
  return out;
}

/** What time passing explains for the SoLR invariant: the fields, and whether a switch to prepayment fell due. */
interface TimeExplains {
  fields: readonly string[];
  prepayment: boolean;
}

/** A pending change as a meter's snapshot shows it (devices/meter.ts). */
interface PendingEntry {
  executeAt?: string;
  useCase?: string;
  change?: { mode?: string };
}

/**
 * Pending changes the SoLR Contingency party scheduled, per device, as the meter showed them (`kind:entry`): when
 * one falls due, what it writes comes under the SoLR invariant too.
 */
type ScScheduled = Map<Eui, Set<string>>;

const pendingKey = (kind: string, entry: unknown) => `${kind}:${JSON.stringify(entry)}`;

/** Records the pending changes that appeared or changed on a device in a step the SoLR Contingency party's traffic reached. */
function noteScScheduled(scheduled: ScScheduled, eui: Eui, before: Json, after: Json): void {
  const was = (before as { pending?: Record<string, unknown> }).pending ?? {};
  for (const [kind, entry] of Object.entries((after as { pending?: Record<string, unknown> }).pending ?? {})) {
    if (entry === null || JSON.stringify(entry) === JSON.stringify(was[kind] ?? null)) continue;
    let set = scheduled.get(eui);
    if (!set) scheduled.set(eui, (set = new Set()));
    set.add(pendingKey(kind, entry));
  }
}

/** What a pending change writes as it executes (null: a use case the harness does not know). */
function executionWrites(entry: PendingEntry, target = entry.change?.mode): string[] | null {
  try {
    return expectedChanges(entry.useCase ?? '', { source: '', phase: 'execution', ...(target === 'credit' || target === 'prepayment' ? { target } : {}) });
  } catch {
    return null;
  }
}

/**
 * What the clocks moving during a step may change on a device (`any`), and what of it the SoLR invariant excuses
 * (`solr`). They move in an `advance` step, and in every step of a live world (`start: now`); elsewhere nothing.
 * A pending change that falls due explains what its own execution writes (a switch to Credit writes no
 * prepayment settings); one the SoLR Contingency party scheduled (`scDue`) only what a switch to Credit writes,
 * and it brings the device under the SoLR invariant. A change the step itself scheduled may execute within it:
 * its 8F66 alert (whether it was a switch to Credit is checked as for any change). On a meter whose pending
 * changes cannot be read (a real one, read for its payment mode) whatever may be pending, and none of it for the
 * SoLR invariant, so a switch to prepayment during an SC step is laid at the SC's door.
 */
function timePassing(
  world: WorldInstance,
  eui: Eui,
  before: Json,
  after: Json,
  step: { allowed: readonly string[]; clockMoved: boolean },
  scScheduled: ScScheduled,
): { any: readonly string[]; solr: TimeExplains; scDue: boolean } {
  if (!world.live && !step.clockMoved) return { any: [], solr: { fields: [], prepayment: false }, scDue: false };
  const pending = (before as { pending?: Record<string, PendingEntry | null> }).pending;
  const unknown = { any: world.pool.allowedChanges('advance', '', eui), solr: { fields: [], prepayment: false }, scDue: false };
  if (pending === undefined) return unknown;
  const clock = Date.parse((after as { clock?: string }).clock ?? '');
  const any = new Set(['clock']);
  const solr = new Set(['clock']);
  let prepayment = false;
  let scDue = false;
  for (const [kind, entry] of Object.entries(pending)) {
    if (!entry || !(Date.parse(entry.executeAt ?? '') <= clock)) continue;
    const writes = executionWrites(entry);
    if (!writes) return unknown;
    for (const path of writes) any.add(path);
    if (scScheduled.get(eui)?.has(pendingKey(kind, entry))) {
      // The SC party may only switch a meter to Credit: that is all its change may write as it executes.
      scDue = true;
      for (const path of executionWrites({ ...entry, useCase: 'payment-mode' }, 'credit')!) solr.add(path);
    } else {
      for (const path of writes) solr.add(path);
      // A switch to prepayment is excused only when the change falling due was one: a due switch to Credit, or
      // a tariff, does not explain the meter going to prepayment.
      if (kind === 'paymentMode' && namesPrepayment(entry)) prepayment = true;
    }
  }
  if (step.allowed.some((path) => path.startsWith('pending'))) {
    any.add('alertCounter');
    solr.add('alertCounter');
  }
  return { any: [...any], solr: { fields: [...solr], prepayment }, scDue };
}

/** The SoLR invariant: payment mode may only become credit (now or pending), and nothing else may change. */
function solrViolations(world: WorldInstance, eui: Eui, changes: FieldChange[], time: TimeExplains): FieldChange[] {
  // A Security Log entry is the meter refusing an attempt, not something the attempt changed.
  const allowed = [...world.pool.allowedChanges('solr-credit', '1.6', eui), 'securityLog', ...time.fields];
  const outside = unexpectedChanges(changes as never, allowed) as FieldChange[];
  const toPrepayment = changes.filter((c) => (c.path === 'paymentMode' || c.path.startsWith('pending.paymentMode')) && namesPrepayment(c.after));
  return [...outside, ...(time.prepayment ? [] : toPrepayment)];
}

/** What a meter may log doing for the SoLR Contingency party: a switch to Credit (SMETS1 logs the S1SP operation). */
const SC_CREDIT_USE_CASES = new Set(['ECS02', 'GCS02', 'payment-mode']);

interface LoggedEvent {
  at?: string;
  event?: string;
  useCase?: string;
  counter?: string;
}

/**
 * The SoLR invariant on what SC traffic leaves on a meter, judged whole where the changed leaves cannot tell: a
 * pending payment-mode change it touched must be a switch to Credit, however little of it changed (a switch to
 * prepayment brought forward changes only its date); one it removed must leave the meter in credit (else it was
 * cancelled, or replaced by a switch to prepayment that changed no setting); and what the meter logged doing must
 * be a switch to Credit, not a cancellation or another use case. A change that fell due by the clock is time's.
 */
function solrStateViolations(before: Json, after: Json): FieldChange[] {
  const out: FieldChange[] = [];
  const pendingOf = (s: Json) => (s as { pending?: Record<string, PendingEntry | null> }).pending?.paymentMode ?? null;
  const was = pendingOf(before);
  const now = pendingOf(after);
  if (JSON.stringify(was) !== JSON.stringify(now)) {
    const dueByClock = was !== null && Date.parse(was.executeAt ?? '') <= Date.parse((after as { clock?: string }).clock ?? '');
    const left = now !== null && namesPrepayment(now);
    const removed = was !== null && now === null && (after as { paymentMode?: string }).paymentMode !== 'credit' && !dueByClock;
    if (left || removed) out.push({ path: 'pending.paymentMode', before: was, after: now });
  }
  for (const [i, e] of newLogEntries(before, after)) {
    const acted = e.event === 'executed' || e.event === 'scheduled';
    if (e.event === 'cancelled' || (acted && !SC_CREDIT_USE_CASES.has(e.useCase ?? ''))) out.push({ path: `eventLog[${i}]`, before: undefined, after: e });
  }
  return out;
}

/** The entries a meter logged during the step (those of `after` not in `before`), each with its place in the log. */
function newLogEntries(before: Json, after: Json): [index: number, entry: LoggedEvent][] {
  const logOf = (s: Json) => ((s as { eventLog?: LoggedEvent[] }).eventLog ?? []) as LoggedEvent[];
  const seen = new Set(logOf(before).map((e) => JSON.stringify(e)));
  return logOf(after)
    .map((e, i) => [i, e] as [number, LoggedEvent])
    .filter(([, e]) => !seen.has(JSON.stringify(e)));
}

/** What the meter logged doing with a Command whose counter is one of these (requests the DCC quarantined). */
function actedOn(before: Json, after: Json, counters: readonly bigint[]): FieldChange[] {
  const quarantined = new Set(counters.map(String));
  return newLogEntries(before, after)
    .filter(([, e]) => e.event !== 'refused' && quarantined.has(String(e.counter)))
    .map(([i, e]) => ({ path: `eventLog[${i}]`, before: undefined, after: e }));
}

/** A payment mode value that is, or (a pending change arriving whole) holds, a switch to prepayment. */
function namesPrepayment(value: unknown): boolean {
  if (value === 'prepayment') return true;
  return typeof value === 'object' && value !== null && Object.entries(value).some(([k, v]) => (k === 'mode' ? v === 'prepayment' : namesPrepayment(v)));
}

/** What the runner keeps of SC traffic from step to step, by device. */
interface ScMemory {
  /** The pending changes SC scheduled (timePassing: their falling due is held to the SoLR invariant). */
  scheduled: ScScheduled;
  /** The counters of SC Commands the DCC gave up on (E20, E21), which may land in any later step. */
  late: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Whether the meter logged, during the step, a Command with one of these counters (SC Commands the DCC gave up on). */
function landedLate(before: Json, after: Json, counters: ReadonlySet<string> | undefined): boolean {
  return counters !== undefined && newLogEntries(before, after).some(([, e]) => e.counter !== undefined && counters.has(e.counter));
}

/**
 * Each device's changes over a step, and the changes it was not allowed to make. `allowedKnown` false: the step
 * ended in an error, so what it was allowed is unknown; only the SoLR invariant is judged then (on the devices
 * SoLR Contingency traffic was sent to), and no other change is called unexpected. `sc.late`: SC Commands the DCC
 * gave up on, by device; a meter that logs one in this step is held to the SoLR invariant here, whatever the step
 * allows it (the step's own rules may allow the same fields, as a supplier's switch does).
 */
function diffStep(
  world: WorldInstance,
  before: Map<Eui, Json>,
  after: Map<Eui, Json>,
  outcome: StepOutcome,
  sc: ScMemory,
  allowedKnown = true,
): { diffs: DeviceDiff[]; violations: string[] } {
  const diffs: DeviceDiff[] = [];
  const violations: string[] = [];
  for (const d of world.devices.values()) {
    const a = before.get(d.eui);
    const b = after.get(d.eui);
    if (a === undefined || b === undefined) continue;
    const changes = diffSnapshots(a, b) as FieldChange[];
    if (changes.length === 0) continue;
    const stepAllowed = outcome.allowed.get(d.eui) ?? [];
    const time = timePassing(world, d.eui, a, b, { allowed: stepAllowed, clockMoved: outcome.clockMoved }, sc.scheduled);
    const unexpected = allowedKnown ? (unexpectedChanges(changes as never, [...stepAllowed, ...time.any]) as FieldChange[]) : [];
    const scTouched = outcome.solrTouched.has(d.eui) || landedLate(a, b, sc.late.get(d.eui));
    if (scTouched || time.scDue) {
      for (const v of solrViolations(world, d.eui, changes, time.solr)) if (!unexpected.includes(v)) unexpected.push(v);
    }
    if (scTouched) {
      unexpected.push(...solrStateViolations(a, b));
      noteScScheduled(sc.scheduled, d.eui, a, b);
    }
    const quarantined = outcome.quarantined?.get(d.eui);
    if (quarantined) unexpected.push(...actedOn(a, b, quarantined));
    diffs.push({ device: d.alias, changes, unexpected });
    if (unexpected.length) {
      violations.push(`${d.alias} changed where it must not: ${unexpected.map((c) => `${c.path} ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`).join('; ')}`);
    }
  }
  return { diffs, violations };
}

/**
 * One attempt at a scenario, within `timeoutMs`: setting up and every step are bounded by what is left of it,
 * and when it runs out the attempt stops where it is, keeping the steps it finished, and closes its world and
 * pool, so nothing of it goes on sending to devices while the next attempt or scenario runs.
 */
async function runAttempt(s: LoadedScenario, attempt: number, options: RunOptions, listener: RunListener | undefined, timeoutMs: number): Promise<AttemptRecord> {
  const started = Date.now();
  const record: AttemptRecord = { attempt, verdict: 'pass', startedAt: new Date(started).toISOString(), durationMs: 0, steps: [] };
  const stepTimeout = s.timeouts.step !== undefined ? durationMs(s.timeouts.step) : (options.stepTimeoutMs ?? 60_000);
  const deviceTimeout = s.timeouts.device !== undefined ? durationMs(s.timeouts.device) : (options.deviceTimeoutMs ?? 10_000);
  const scenarioOverran = `scenario ${s.id} did not finish within ${timeoutMs} ms`;
  const left = () => Math.max(0, started + timeoutMs - Date.now());
  let world: WorldInstance | null = null;
  let pool: DevicePool | null = null;
  // The run's interruption stopped the attempt (not a time limit, not the test itself).
  let stoppedByRun = false;
  try {
    pool = await withTimeout(options.pool(), left(), `${scenarioOverran} (getting its devices)`, (p) => p.close(), options.signal);
    world = await withTimeout(
      WorldInstance.create(s.world, {
        pool,
        deviceTimeoutMs: deviceTimeout,
        ...(options.defects ? { defects: options.defects } : {}),
        ...(options.scAllowedSrvs ? { scAllowedSrvs: options.scAllowedSrvs } : {}),
      }),
      left(),
      `${scenarioOverran} (setting up its world)`,
      (w) => w.close(), // the pool is closed below
      options.signal,
    );
    world.traffic.take();
    const solrUnanswered = new Map<string, Set<string>>();
    const sc: ScMemory = { scheduled: new Map(), late: solrUnanswered };
    let lastSnapshots: Map<Eui, Json> | null = null;
    for (const [index, step] of s.steps.entries()) {
      if (left() === 0 || options.signal?.aborted) {
        record.verdict = 'error';
        record.message = `${options.signal?.aborted ? INTERRUPTED : scenarioOverran} (step ${index + 1} not started)`;
        stoppedByRun = options.signal?.aborted === true;
        break;
      }
      const t0 = Date.now();
      const before = snapshots(world);
      const clockAtStart = world.dcc.clock.now().getTime();
      const stepRecord: StepRecord = { index, title: Object.keys(step)[0]!, kind: Object.keys(step)[0]!, verdict: 'pass', durationMs: 0, traffic: [], diffs: [] };
      const stop = new AbortController();
      const solrReached = new Set<string>();
      let running: Promise<StepOutcome> | null = null;
      try {
        const limit = Math.min(stepTimeout, left());
        // Said of the step: the attempt's message puts "step N (title): " before it.
        const overran = limit < stepTimeout ? scenarioOverran : `the step did not finish within ${stepTimeout} ms`;
        running = runStep(step, { world, deviceTimeoutMs: deviceTimeout, signal: stop.signal, solrReached, solrUnanswered });
        const outcome = await withTimeout(running, limit, overran, undefined, options.signal);
        stepRecord.title = outcome.title;
        await world.settle();
        lastSnapshots = snapshots(world);
        judge(stepRecord, diffStep(world, before, lastSnapshots, outcome, sc));
      } catch (e) {
        stepRecord.verdict = e instanceof ProductFailure ? 'fail' : 'error';
        stepRecord.message = e instanceof ProductFailure || e instanceof InfrastructureError ? e.message : `harness error: ${(e as Error).stack ?? e}`;
        if (e instanceof RunInterrupted) stoppedByRun = true;
        if (e instanceof StepTimeout && running) {
          // Overran or interrupted: the step is stopped where it is (its loops and requests heed the signal), and
          // waited for, so it sends nothing more while the world is compared and closed.
          stop.abort(e);
          await withTimeout(running.catch(() => undefined), STOP_TIMEOUT_MS, 'stopping the step').catch(() => {});
        }
        await world.settle(2_000).catch(() => {});
        // What the step was allowed is lost with it; what SoLR Contingency traffic may change is not. A meter it
        // reached that changed otherwise is the product's failure, whatever stopped the step: fail, never retried.
        // An `advance` that ended in an error may have moved the clocks first: what fell due is judged as time's.
        const clockMoved = world.dcc.clock.now().getTime() !== clockAtStart;
        const error = stepRecord.message?.split('\n')[0];
        judge(stepRecord, diffStep(world, before, snapshots(world), { title: '', allowed: new Map(), solrTouched: solrReached, clockMoved }, sc, false), ` (the step itself ended in an error: ${error})`);
      }
      stepRecord.traffic = world.traffic.take();
      stepRecord.durationMs = Date.now() - t0;
      record.steps.push(stepRecord);
      listener?.onStepEnd?.({ id: s.id }, stepRecord);
      if (stepRecord.verdict !== 'pass') {
        record.verdict = stepRecord.verdict;
        record.message = `step ${index + 1} (${stepRecord.title}): ${stepRecord.message}`;
        break;
      }
    }
    if (record.verdict === 'pass' && solrUnanswered.size && lastSnapshots) {
      const after = await lateCommandsStep(world, s.steps.length, lastSnapshots, sc, Math.min(deviceTimeout + longestLinkDelay(s), left()));
      record.steps.push(after);
      listener?.onStepEnd?.({ id: s.id }, after);
      if (after.verdict !== 'pass') {
        record.verdict = after.verdict;
        record.message = `step ${after.index + 1} (${after.title}): ${after.message}`;
      }
    }
  } catch (e) {
    record.verdict = 'error';
    record.message = e instanceof StepTimeout ? e.message : `setting up the world failed: ${(e as Error).message}`;
    if (e instanceof RunInterrupted) stoppedByRun = true;
  } finally {
    // The world cuts what it cannot close in time itself; the margin is for its endpoints to go after that.
    if (world) await withTimeout(world.close(CLOSE_TIMEOUT_MS), 2 * CLOSE_TIMEOUT_MS, 'closing the world').catch(() => {});
    if (pool) {
      for (const [alias, lines] of Object.entries(pool.logs())) deviceLogSink.push([`${s.id}${attempt > 1 ? `#${attempt}` : ''}/${alias}`, lines]);
      await withTimeout(pool.close(), CLOSE_TIMEOUT_MS, 'closing the device pool').catch(() => {});
    }
  }
  // An interrupted step that also broke the invariant is the product's failure, not a stop.
  if (stoppedByRun && record.verdict === 'error') record.interrupted = true;
  record.durationMs = Date.now() - started;
  return record;
}

/** The longest a scenario's `link-fault` steps hold a frame back (0: none delays one). */
function longestLinkDelay(s: LoadedScenario): number {
  return Math.max(0, ...s.steps.map((step) => ('link-fault' in step && step['link-fault'].action === 'delay' ? (step['link-fault'].delay === undefined ? DEFAULT_DELAY_MS : durationMs(step['link-fault'].delay)) : 0)));
}

/**
 * After the last step, when SoLR Contingency Commands the DCC gave up on (E20, E21) may still be on their way: waits
 * as long again as the DCC did for an answer, and as long as the scenario holds frames back, then holds those
 * meters to the SoLR invariant for what changed since the last step (and only to it: what else they may change is
 * not known, as after a step that ended in an error).
 */
async function lateCommandsStep(world: WorldInstance, index: number, since: Map<Eui, Json>, sc: ScMemory, waitMs: number): Promise<StepRecord> {
  const t0 = Date.now();
  const title = 'after the last step (commands the DCC gave up on may still land)';
  const step: StepRecord = { index, title, kind: 'after-steps', verdict: 'pass', durationMs: 0, traffic: [], diffs: [] };
  await new Promise((r) => setTimeout(r, waitMs));
  await world.settle(2_000).catch(() => {});
  judge(step, diffStep(world, since, snapshots(world), { title, allowed: new Map(), solrTouched: new Set(sc.late.keys()), clockMoved: false }, sc, false));
  step.traffic = world.traffic.take();
  step.durationMs = Date.now() - t0;
  return step;
}

/** Records a step's diffs; a violation fails it, its message saying what changed where it must not (then `context`). */
function judge(step: StepRecord, { diffs, violations }: { diffs: DeviceDiff[]; violations: string[] }, context = ''): void {
  step.diffs = diffs;
  if (!violations.length) return;
  step.verdict = 'fail';
  step.message = `invariant violated: ${violations.join(' | ')}${context}`;
}

/** Device logs of the current run, drained into the RunRecord at the end. */
let deviceLogSink: [string, string[]][] = [];

export async function runScenarios(scenarios: readonly LoadedScenario[], options: RunOptions): Promise<RunRecord> {
  const started = Date.now();
  deviceLogSink = [];
  const tests: TestRecord[] = [];
  const listener = options.listener;
  for (const s of scenarios) {
    const t0 = Date.now();
    // The first scenario always starts: a run cannot have run out of time before doing anything, and a
    // millisecond tick between `started` and here must not decide it.
    const timedOut = options.runTimeoutMs !== undefined && tests.length > 0 && t0 - started >= options.runTimeoutMs;
    if (timedOut || options.signal?.aborted) {
      const skipReason = timedOut ? 'the run timed out before this scenario started' : `${INTERRUPTED} before this scenario started`;
      const skipped: TestRecord = { id: s.id, title: s.title, file: s.file, tags: s.tags, level: s.level, verdict: 'skip', attempts: [], durationMs: 0, skipReason };
      tests.push(skipped);
      listener?.onTestEnd?.(skipped);
      continue;
    }
    listener?.onTestStart?.({ id: s.id, title: s.title });
    const attempts: AttemptRecord[] = [];
    const maxAttempts = s.retry?.attempts ?? 1;
    const scenarioTimeout = s.timeouts.scenario !== undefined ? durationMs(s.timeouts.scenario) : (options.scenarioTimeoutMs ?? 300_000);
    for (let n = 1; n <= maxAttempts; n++) {
      listener?.onAttemptStart?.({ id: s.id }, n);
      const a = await runAttempt(s, n, options, listener, scenarioTimeout);
      attempts.push(a);
      // Retry only infrastructure errors the scenario says are worth retrying; a product failure is final.
      const retryable = a.verdict === 'error' && !options.signal?.aborted && s.retry !== undefined && new RegExp(s.retry.when).test(a.message ?? '');
      if (!retryable) break;
    }
    const verdict: Verdict = attempts[attempts.length - 1]!.verdict;
    const test: TestRecord = { id: s.id, title: s.title, file: s.file, tags: s.tags, level: s.level, verdict, attempts, durationMs: Date.now() - t0 };
    tests.push(test);
    listener?.onTestEnd?.(test);
  }
  const finished = Date.now();
  const deviceLogs: Record<string, string[]> = {};
  for (const [k, lines] of deviceLogSink) deviceLogs[k] = lines;
  return {
    runId: randomUUID(),
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
    target: options.target ?? 'emulated',
    options: options.options ?? {},
    ...(options.signal?.aborted ? { interrupted: INTERRUPTED } : {}),
    summary: summarize(tests),
    tests,
    deviceLogs,
    environment: { node: process.version, platform: `${process.platform}-${process.arch}`, smetsHil: options.version ?? '0.0.0', host: hostname() },
  };
}
