/**
 * Fault injection on the emulated meter's side of the tunnel, with the memory link's rule format
 * (faults.ts) so the shared contract suite drives both alike: drop, duplicate, corrupt or delay chosen
 * GBCS frames in either direction, or take the meter off the HAN ("disconnect": it leaves the network and the
 * Communications Hub sees a Leave; "reconnect" lets it join again).
 */
import { FaultRules } from '../../faults.ts';

export interface Disconnectable {
  disconnect(): void;
  reconnect(): void;
}

export class TunnelFaults extends FaultRules {
  constructor(private readonly target: Disconnectable) {
    super();
  }

  disconnect(): void {
    this.target.disconnect();
  }

  reconnect(): void {
    this.target.reconnect();
  }
}
