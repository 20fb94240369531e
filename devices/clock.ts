/**
 * Simulated time for emulated meters. It moves only when told to, so future-dated commands execute exactly
 * when a test says the time has come. One clock may be shared by a whole fleet: only meters with something
 * scheduled register a timer, so advancing a million-meter clock visits just those.
 */

/** The RTDS device clock: 2015-01-01T00:00:00Z (what the reference responses carry). */
export const RTDS_DEVICE_TIME = Date.UTC(2015, 0, 1);

export interface ClockTimer {
  readonly at: number;
  cancel(): void;
}

interface Entry {
  at: number;
  seq: number;
  run: (() => void) | null;
}

/**
 * The times an emulated meter's clock may hold: what every meter kind can put in its messages (ZigBee UTCTime
 * counts whole seconds after 2000-01-01, and the DCC keeps its own clock before 2100). A meter outside them would
 * execute a command and then fail to write its answer.
 */
export const METER_CLOCK_RANGE = { from: Date.UTC(2000, 0, 1, 0, 0, 1), to: Date.UTC(2100, 0, 1) };

/** Why a meter's clock may not stand at `ms`, or null when it may. */
export function meterClockProblem(ms: number): string | null {
  if (ms >= METER_CLOCK_RANGE.from && ms < METER_CLOCK_RANGE.to) return null;
  const at = Number.isFinite(ms) && Number.isFinite(new Date(ms).getTime()) ? new Date(ms).toISOString() : 'no valid date';
  return `a meter's clock stays from 2000-01-01T00:00:01Z to before 2100-01-01 (its messages' date-times hold no more), not ${at}`;
}

export class SimClock {
  private ms: number;
  private seq = 0;
  /** Binary min-heap on (at, seq): timers fire in time order, ties in the order they were set. */
  private heap: Entry[] = [];
  /** Entries waiting to run, and cancelled ones still in the heap (dropped when they reach its root or on compaction). */
  private live = 0;
  private cancelled = 0;
  private advancing = false;

  constructor(start: Date | number = RTDS_DEVICE_TIME) {
    this.ms = typeof start === 'number' ? start : start.getTime();
    if (!Number.isFinite(this.ms)) throw new RangeError('invalid start time');
  }

  now(): number {
    return this.ms;
  }

  date(): Date {
    return new Date(this.ms);
  }

  /** Runs `run` once the clock reaches `at` (or on the next advance, if `at` is already past). */
  schedule(at: number, run: () => void): ClockTimer {
    // A NaN time compares with nothing: at the root of the heap it would hold back every later timer.
    if (!Number.isFinite(at)) throw new RangeError('a timer needs a finite time');
    const entry: Entry = { at, seq: this.seq++, run };
    this.push(entry);
    this.live++;
    return { at, cancel: () => this.cancel(entry) };
  }

  /**
   * A meter that keeps replacing a far-future change cancels a timer each time: without compaction a long soak
   * would hold every one of them. Once cancelled entries outnumber live ones the heap is rebuilt from the live.
   */
  private cancel(entry: Entry): void {
    if (!entry.run) return;
    entry.run = null;
    this.live--;
    this.cancelled++;
    if (this.cancelled > 64 && this.cancelled > this.live) {
      // A sorted array is a valid min-heap.
      this.heap = this.heap.filter((e) => e.run).sort((a, b) => a.at - b.at || a.seq - b.seq);
      this.cancelled = 0;
    }
  }

  /** Moves the clock on by `ms`; returns how many timers fired. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the clock only moves forward');
    return this.advanceTo(this.ms + ms);
  }

  /**
   * Moves to `at`, firing due timers in order with the clock reading each timer's own time; returns how many fired.
   * A timer that throws does not hold the others up (meters sharing the clock are not held back by one's fault):
   * every due timer fires, the clock reaches `at`, and then the first error is thrown.
   */
  advanceTo(at: Date | number): number {
    const target = typeof at === 'number' ? at : at.getTime();
    if (!Number.isFinite(target) || target < this.ms) throw new RangeError('the clock only moves forward');
    if (this.advancing) throw new Error('the clock cannot be advanced from inside a timer');
    this.advancing = true;
    let fired = 0;
    let failed: { error: unknown } | null = null;
    try {
      for (let next = this.heap[0]; next && next.at <= target; next = this.heap[0]) {
        this.pop();
        if (!next.run) {
          this.cancelled--;
          continue;
        }
        this.ms = Math.max(this.ms, next.at);
        const run = next.run;
        next.run = null;
        this.live--;
        try {
          run();
        } catch (error) {
          failed ??= { error };
        }
        fired++;
      }
      this.ms = target;
      if (failed) throw failed.error;
      return fired;
    } finally {
      this.advancing = false;
    }
  }

  /** Timers still waiting (cancelled ones excluded). */
  get pending(): number {
    return this.live;
  }

  /** Entries the clock holds: the pending timers and at most as many cancelled ones (plus a few). */
  get retained(): number {
    return this.heap.length;
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
