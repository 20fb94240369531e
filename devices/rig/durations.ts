/**
 * Durations in rig files ("500ms", "30s", "10m", "2h", "7d"), and the bounds a timer puts on them: a Node timer waits
 * at most 2^31 - 1 ms, and one asked to wait longer (or 0) fires at once.
 */
import { z } from 'zod';

/** The longest a Node timer waits (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const FORMAT = /^(\d+)(ms|s|m|h|d)$/;

export function durationMs(text: string): number {
  const m = FORMAT.exec(text);
  if (!m) throw new RangeError(`not a duration: ${text}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
}

/** A duration of at least `minMs` and at most what a timer can wait (`example` shows the format). */
export function boundedDuration(minMs: number, message: string, example = 'a duration such as 500ms, 30s, 10m or 2h') {
  return z
    .string()
    .regex(FORMAT, example)
    .refine((d) => !FORMAT.test(d) || (durationMs(d) >= minMs && durationMs(d) <= MAX_TIMER_MS), message);
}

/** Waited for by a timer: more than nothing, and no longer than a timer can wait. */
export const timerDuration = (example?: string) => boundedDuration(1, 'a duration above 0 and at most 24 days (the longest a timer waits)', example);
