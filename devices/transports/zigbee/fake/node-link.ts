/**
 * The device end of an emulated meter node's tunnel: a Link a DeviceHost attaches the emulated meters to. It is
 * open while the meter software runs; frames come out of it when the hub sends through a tunnel, and what the
 * meters send goes back through one (node.ts decides which and applies the faults).
 */
import { type Link, LinkError, type LinkState } from '../../link.ts';
import { type EmulatedMeterNode } from './node.ts';
import { Listeners } from '../../listeners.ts';

/** The device end of the tunnel, where a DeviceHost attaches the emulated meters. */
export class NodeTunnelLink implements Link {
  readonly name: string;
  private st: LinkState = 'closed';
  private readonly frameListeners = new Listeners<[frame: Uint8Array]>();
  private readonly stateListeners = new Listeners<[state: LinkState, error?: LinkError]>();

  constructor(private readonly node: EmulatedMeterNode) {
    this.name = `zigbee-node:${node.eui}`;
  }

  get state(): LinkState {
    return this.st;
  }

  async open(): Promise<void> {
    if (this.st === 'open') return;
    if (this.node.severed) {
      const e = new LinkError('open-failed', `${this.name}: the meter is off the HAN`);
      this.set('failed', e);
      throw e;
    }
    this.set('open');
  }

  async close(): Promise<void> {
    if (this.st !== 'closed') this.set('closed');
  }

  async send(frame: Uint8Array): Promise<void> {
    if (this.st !== 'open') throw new LinkError(this.st === 'failed' ? 'disconnected' : 'closed', `${this.name}: link is ${this.st}`);
    this.node.fromMeters(Uint8Array.from(frame));
  }

  onFrame(listener: (frame: Uint8Array) => void): () => void {
    return this.frameListeners.add(listener);
  }

  onState(listener: (state: LinkState, error?: LinkError) => void): () => void {
    return this.stateListeners.add(listener);
  }

  /** @internal */
  deliver(frame: Uint8Array): void {
    if (this.st !== 'open') return;
    this.frameListeners.emit(frame);
  }

  /** @internal */
  fail(e: LinkError): void {
    if (this.st === 'open' || this.st === 'opening') this.set('failed', e);
  }

  private set(state: LinkState, error?: LinkError): void {
    this.st = state;
    this.stateListeners.emit(state, error);
  }
}
