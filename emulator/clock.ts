/**
 * The DCC's clock. Real time by default; tests and scenarios move it explicitly (SoLR event windows, ADT
 * periods, future-dated commands) without sleeping. The offset persists with the DCC's state.
 */
export interface Clock {
  now(): Date;
}

export class AdjustableClock implements Clock {
  constructor(private offsetMs = 0) {}

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  /** Moves the clock so that now() is `at`; time keeps running from there. */
  set(at: Date): void {
    this.offsetMs = at.getTime() - Date.now();
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the clock only moves forward');
    this.offsetMs += ms;
  }

  get offset(): number {
    return this.offsetMs;
  }
}
