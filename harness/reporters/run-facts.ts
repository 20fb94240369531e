/**
 * What every reporter derives from a RunRecord the same way, so the console, JSON, JUnit, HTML and history
 * never disagree about a count, a message or which change was unexpected.
 */
import { type AttemptRecord, type FieldChange, type RunRecord, type RunSummary, summarize, type TestRecord, type Verdict } from '../results.ts';

/** Counts from the tests themselves rather than the stored summary, so a report always matches its own rows. */
export function runSummary(run: RunRecord): RunSummary {
  return summarize(run.tests);
}

export function lastAttempt(test: TestRecord): AttemptRecord | undefined {
  return test.attempts[test.attempts.length - 1];
}

/** Why the test did not pass: the last attempt's message, else its first non-passing step's, else the skip reason. */
export function failureMessage(test: TestRecord): string | undefined {
  if (test.verdict === 'pass') return undefined;
  if (test.verdict === 'skip') return test.skipReason ?? lastAttempt(test)?.message;
  return attemptMessage(lastAttempt(test));
}

export function attemptMessage(attempt: AttemptRecord | undefined): string | undefined {
  if (attempt === undefined) return undefined;
  if (attempt.message !== undefined) return attempt.message;
  const step = attempt.steps.find((s) => s.verdict !== 'pass' && s.message !== undefined);
  return step === undefined ? undefined : `step ${step.index + 1} (${step.title}): ${step.message}`;
}

export interface LocatedChange {
  device: string;
  step: number;
  stepTitle: string;
  change: FieldChange;
}

/** The first change a step did not allow, in step order, from one attempt (by default the last). */
export function firstUnexpectedChange(test: TestRecord, attempt = lastAttempt(test)): LocatedChange | undefined {
  for (const step of attempt?.steps ?? []) {
    for (const diff of step.diffs) {
      const change = diff.unexpected[0];
      if (change !== undefined) return { device: diff.device, step: step.index, stepTitle: step.title, change };
    }
  }
  return undefined;
}

/** True when a change appears in the diff's unexpected list (compared by path, as the engine reports one change per path). */
export function isUnexpected(unexpected: readonly FieldChange[], change: FieldChange): boolean {
  return unexpected.some((u) => u === change || u.path === change.path);
}

/** A field value as one line of text: strings bare, absent as "(absent)", everything else as JSON. */
export function formatValue(value: unknown): string {
  if (value === undefined) return '(absent)';
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function describeChange(c: LocatedChange): string {
  return `${c.device} ${c.change.path}: ${formatValue(c.change.before)} -> ${formatValue(c.change.after)} (step ${c.step + 1}, ${c.stepTitle})`;
}

/** "850 ms", "12.3 s", "4 min 05 s": short and unambiguous in a log line. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  // Rounded first, then split: 59,960 ms is "1 min 00 s", not "60.0 s", and 119,700 "2 min 00 s", not "1 min 60 s".
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}

export const VERDICT_ORDER: readonly Verdict[] = ['pass', 'fail', 'error', 'skip'];

/** Summary keys by verdict, as in RunSummary and the JSON report. */
export const SUMMARY_KEY: Record<Verdict, keyof RunSummary> = { pass: 'passed', fail: 'failed', error: 'errors', skip: 'skipped' };

/** Every tag used in the run, sorted, for filters. */
export function allTags(run: RunRecord): string[] {
  return [...new Set(run.tests.flatMap((t) => t.tags))].sort();
}
