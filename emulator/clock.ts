/**
 * The DCC's clock. Real time by default; tests and scenarios move it explicitly (SoLR event windows, ADT
 * periods, future-dated commands) without sleeping. A scenario freezes it so the DCC and the meters' simulated
 * clocks agree to the millisecond; it then moves only when told to. The offset persists with the DCC's state.
 */
export interface Clock {
  now(): Date;
}

export class AdjustableClock implements Clock {
  private frozenAt: number | null = null;

  constructor(private offsetMs = 0) {}

  now(): Date {
    return new Date(this.frozenAt ?? Date.now() + this.offsetMs);
  }

  /** Moves the clock so that now() is `at`; time keeps running from there unless the clock is frozen. */
  set(at: Date): void {
    if (this.frozenAt !== null) this.frozenAt = at.getTime();
    else this.offsetMs = at.getTime() - Date.now();
  }

  /** Stops the clock at `at` (default: now): from here on it moves only by set() and advance(). */
  freeze(at: Date = this.now()): void {
    this.frozenAt = at.getTime();
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the clock only moves forward');
    if (this.frozenAt !== null) this.frozenAt += ms;
    else this.offsetMs += ms;
  }

  get frozen(): boolean {
    return this.frozenAt !== null;
  }

  get offset(): number {
    return (this.frozenAt ?? Date.now() + this.offsetMs) - Date.now();
  }

  /** Where the clock stands, to be moved on a copy (`adopt`) and taken over once stored. */
  get setting(): ClockSetting {
    return { offsetMs: this.offsetMs, frozenAt: this.frozenAt };
  }

  adopt(s: ClockSetting): this {
    this.offsetMs = s.offsetMs;
    this.frozenAt = s.frozenAt;
    return this;
  }
}

export interface ClockSetting {
  offsetMs: number;
  frozenAt: number | null;
}

/** The span the DCC's clock may be set to: the meters' date-times hold no more, and SMKI's CAs start in 2000. */
export const CLOCK_RANGE = { from: Date.UTC(2000, 0, 1), to: Date.UTC(2100, 0, 1) };

/** Why the clock may not be set to `to` (ms since the epoch), or null when it may. */
export function clockRangeProblem(to: number): string | null {
  if (to >= CLOCK_RANGE.from && to < CLOCK_RANGE.to) return null;
  return `the DCC's clock stays from 2000-01-01 to before 2100-01-01 (the meters' date-times hold no more); this would take it to ${Number.isFinite(new Date(to).getTime()) ? new Date(to).toISOString() : 'no valid date'}`;
}
