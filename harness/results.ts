/**
 * The record of a run, as the scenario engine produces it and every reporter (console, JSON, JUnit, HTML,
 * evidence bundle, run history) reads it. Verdicts separate a product failure (fail) from an infrastructure
 * failure (error: a rig, link or the harness itself), as OpenHTF and LAVA do; every attempt is kept.
 */

export type Verdict = 'pass' | 'fail' | 'error' | 'skip';

/** What a run, and the step or attempt it stopped, says when it is interrupted (a signal): RunRecord.interrupted. */
export const RUN_INTERRUPTED = 'the run was interrupted';

export type TrafficDirection = 'user->dcc' | 'dcc->user' | 'dcc->device' | 'device->dcc' | 'dcc->endpoint';

/**
 * One message seen during a step. Payloads are DUIS XML, upper-case hex for GBCS / S1SP frames, or JSON for the
 * operation the DCC hands the S1SP for a SMETS1 meter (the S1SP builds that frame itself); empty when nothing came.
 */
export interface TrafficRecord {
  at: string;
  direction: TrafficDirection;
  /** The User or device EUI this message is to or from. */
  party?: string;
  kind: 'duis' | 'gbcs' | 's1sp' | 'admin';
  /** One line a reader can scan: "CV4 SRV 1.6 -> I0 (Pre-Command ECS02)". */
  summary: string;
  payload: string;
}

export interface FieldChange {
  /** Dotted path into the device snapshot: "paymentMode", "counters.90B3D51F30010000". */
  path: string;
  before: unknown;
  after: unknown;
}

export interface DeviceDiff {
  device: string;
  changes: FieldChange[];
  /** Changes the step did not allow (empty when the step left the device as it should). */
  unexpected: FieldChange[];
}

export interface StepRecord {
  index: number;
  /** What the step does, as a reader sees it: "SC switches ESME-1 to Credit (CV4, CV5)". */
  title: string;
  kind: string;
  verdict: Verdict;
  durationMs: number;
  /** Why it failed or errored; absent on pass. */
  message?: string;
  traffic: TrafficRecord[];
  diffs: DeviceDiff[];
}

export interface AttemptRecord {
  attempt: number;
  verdict: Verdict;
  startedAt: string;
  durationMs: number;
  steps: StepRecord[];
  /** The failure or error of the attempt as a whole. */
  message?: string;
  /** The run was interrupted (a signal) while this attempt ran, and that stopped it: its error is the harness's stop, not the test's. */
  interrupted?: true;
}

export interface TestRecord {
  /** Stable id: the scenario id, plus the outline row for expanded tables ("BR5-altered-precommand[esme]"). */
  id: string;
  title: string;
  /** The scenario file, relative to the working directory. */
  file: string;
  tags: string[];
  level: 'smoke' | 'pit' | 'nightly';
  /** The verdict of the last attempt. */
  verdict: Verdict;
  attempts: AttemptRecord[];
  durationMs: number;
  /** For skipped tests: why. */
  skipReason?: string;
}

export interface RunSummary {
  total: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
}

export interface RunRecord {
  runId: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** "emulated", or the rig file the devices came from. */
  target: string;
  /** Tag filter and other options the run was started with. */
  options: Record<string, unknown>;
  /**
   * Why the run stopped before its end (Ctrl-C, SIGTERM), when it did: what it reports is then part of a run,
   * even where every test it reached passed.
   */
  interrupted?: string;
  summary: RunSummary;
  tests: TestRecord[];
  /** Per-device log lines, timestamped, keyed by device id: the evidence bundle writes one file each. */
  deviceLogs: Record<string, string[]>;
  environment: { node: string; platform: string; smetsHil: string; host: string };
}

/** The defects a run seeded, from the options it recorded (`run --defect`): a negative control when any. */
export function seededDefects(run: RunRecord): string[] {
  const d = run.options.defects;
  return Array.isArray(d) ? d.filter((x): x is string => typeof x === 'string') : [];
}

export function summarize(tests: readonly TestRecord[]): RunSummary {
  const count = (v: Verdict) => tests.filter((t) => t.verdict === v).length;
  return { total: tests.length, passed: count('pass'), failed: count('fail'), errors: count('error'), skipped: count('skip') };
}

/** Exit code of `smets-hil run`: 0 all passed (or skipped), 1 a scenario failed, 3 an infrastructure error. */
export function exitCodeFor(summary: RunSummary): number {
  if (summary.failed > 0) return 1;
  if (summary.errors > 0) return 3;
  return 0;
}
