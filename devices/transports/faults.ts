/**
 * Fault rules for links, in one format every faulty link shares (the memory link, FaultLink above any real
 * link, the fake ZigBee meter's tunnel) so the Transport contract suite and scenario `link-fault` steps drive
 * them alike: drop, duplicate, corrupt or delay chosen frames in either direction, or cut the connection.
 */
export type Direction = 'to-device' | 'to-dcc';
export type FaultAction = 'drop' | 'duplicate' | 'corrupt' | 'delay' | 'disconnect';

export interface FaultRule {
  action: FaultAction;
  /** Default: both directions. */
  direction?: Direction | 'both';
  /** Which frames, counted from 0 per direction since the link was made: an index, indices or a predicate. Default: all. */
  frames?: number | readonly number[] | ((frame: Uint8Array, index: number) => boolean);
  /** How many times the rule may fire; default unlimited. */
  times?: number;
  /** For delay (default DEFAULT_DELAY_MS). */
  delayMs?: number;
  /** For corrupt; default flips the lowest bit of the middle octet. */
  corrupt?: (frame: Uint8Array) => Uint8Array;
}

/** How long a delay rule holds a frame back when it does not say. */
export const DEFAULT_DELAY_MS = 50;

export interface FaultEvent {
  direction: Direction;
  index: number;
  action: FaultAction;
}

export function flipMiddleBit(frame: Uint8Array): Uint8Array {
  const out = Uint8Array.from(frame);
  if (out.length > 0) out[out.length >> 1] = out[out.length >> 1]! ^ 0x01;
  return out;
}

/** Rules tried in the order added (the first that matches applies), the faults they fired, and frame counts. */
export class FaultRules {
  protected rules: (FaultRule & { fired: number })[] = [];
  private readonly counts: Record<Direction, number> = { 'to-device': 0, 'to-dcc': 0 };
  readonly events: FaultEvent[] = [];

  add(rule: FaultRule): this {
    this.rules.push({ ...rule, fired: 0 });
    return this;
  }

  clear(): this {
    this.rules.length = 0; // in place: a FaultPlan may share its rules with others
    return this;
  }

  /** The rule that applies to the frame with this index in its direction, if any (counted as fired). */
  match(direction: Direction, frame: Uint8Array, index: number): FaultRule | undefined {
    for (const r of this.rules) {
      if (r.direction && r.direction !== 'both' && r.direction !== direction) continue;
      if (r.times !== undefined && r.fired >= r.times) continue;
      const f = r.frames;
      const hit = f === undefined || (typeof f === 'number' ? f === index : typeof f === 'function' ? f(frame, index) : f.includes(index));
      if (!hit) continue;
      r.fired++;
      this.events.push({ direction, index, action: r.action });
      return r;
    }
    return undefined;
  }

  /** Counts the frame in its direction and returns the rule that applies to it, if any. */
  next(direction: Direction, frame: Uint8Array): FaultRule | undefined {
    return this.match(direction, frame, this.counts[direction]++);
  }
}

/** One delivery a fault leaves of a frame: the frame as it goes on, and how much later than usual. */
export interface FaultedDelivery {
  frame: Uint8Array;
  delayMs: number;
}

/**
 * What a rule (or none) makes of one frame: 'disconnect', or the deliveries to make, none for a drop and two for a
 * duplicate. Each link decides how it makes them (now, after its latency, on a later turn); this is the one
 * place that says what each action means.
 */
export function faultOutcome(rule: FaultRule | undefined, frame: Uint8Array): 'disconnect' | FaultedDelivery[] {
  switch (rule?.action) {
    case 'drop':
      return [];
    case 'disconnect':
      return 'disconnect';
    case 'duplicate':
      return [
        { frame, delayMs: 0 },
        { frame, delayMs: 0 },
      ];
    case 'corrupt':
      return [{ frame: (rule.corrupt ?? flipMiddleBit)(frame), delayMs: 0 }];
    case 'delay':
      return [{ frame, delayMs: rule.delayMs ?? DEFAULT_DELAY_MS }];
    default:
      return [{ frame, delayMs: 0 }];
  }
}
