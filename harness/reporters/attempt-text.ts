/**
 * An attempt as plain text, for places that can only show text: JUnit system-out and failure bodies, which
 * Jenkins and GitLab print as they are. Traffic appears as summary lines; payloads are in the JSON and HTML reports.
 */
import type { AttemptRecord, StepRecord } from '../results.ts';
import { attemptMessage, formatDuration, formatValue, isUnexpected } from './run-facts.ts';

export function attemptHeading(attempt: AttemptRecord, of: number): string {
  const message = attemptMessage(attempt);
  return `Attempt ${attempt.attempt} of ${of}: ${attempt.verdict} (${formatDuration(attempt.durationMs)}, started ${attempt.startedAt})${message ? ` - ${message}` : ''}`;
}

export function stepLines(step: StepRecord): string[] {
  const lines = [`  step ${step.index + 1} ${step.verdict.padEnd(5)} ${step.title} [${step.kind}] (${formatDuration(step.durationMs)})${step.message ? `: ${step.message}` : ''}`];
  for (const diff of step.diffs) {
    for (const c of diff.changes) {
      const flag = isUnexpected(diff.unexpected, c) ? '  UNEXPECTED' : '';
      lines.push(`    ${diff.device} ${c.path}: ${formatValue(c.before)} -> ${formatValue(c.after)}${flag}`);
    }
    // An unexpected change the engine did not also list under changes (the SoLR invariant adds its own).
    for (const u of diff.unexpected) {
      if (!diff.changes.some((c) => c.path === u.path)) lines.push(`    ${diff.device} ${u.path}: ${formatValue(u.before)} -> ${formatValue(u.after)}  UNEXPECTED`);
    }
  }
  for (const m of step.traffic) {
    lines.push(`    ${m.at} ${m.direction} ${m.kind}${m.party ? ` ${m.party}` : ''}: ${m.summary}`);
  }
  return lines;
}

export function attemptText(attempt: AttemptRecord, of: number): string {
  return [attemptHeading(attempt, of), ...attempt.steps.flatMap(stepLines)].join('\n');
}
