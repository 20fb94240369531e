/**
 * Fault injection on the emulated meter's side of the tunnel, with the memory link's rule format
 * (memory-link.ts) so the shared contract suite drives both alike: drop, duplicate, corrupt or delay chosen
 * GBCS frames in either direction, or take the meter off the HAN ("disconnect": it leaves the network and the
 * Communications Hub sees a Leave; "reconnect" lets it join again).
 */
import { type Direction, type FaultEvent, type FaultRule } from '../../memory-link.ts';

interface Armed extends FaultRule {
  fired: number;
}

export interface Disconnectable {
  disconnect(): void;
  reconnect(): void;
}

export class TunnelFaults {
  private rules: Armed[] = [];
  private readonly counts: Record<Direction, number> = { 'to-device': 0, 'to-dcc': 0 };
  readonly events: FaultEvent[] = [];

  constructor(private readonly target: Disconnectable) {}

  add(rule: FaultRule): this {
    this.rules.push({ ...rule, fired: 0 });
    return this;
  }
  clear(): this {
    this.rules = [];
    return this;
  }
  disconnect(): void {
    this.target.disconnect();
  }
  reconnect(): void {
    this.target.reconnect();
  }

  /** Counts the frame and returns the rule that applies to it, if any. */
  next(direction: Direction, frame: Uint8Array): FaultRule | undefined {
    const index = this.counts[direction]++;
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
}
