/**
 * Fault injection on any Link, at the DCC's end: frames towards the device (on send) and from it (on receipt)
 * can be dropped, duplicated, corrupted, delayed, or the connection cut, by the same rules as the memory link.
 * On a serial or ZigBee line this acts above the link layer, where an attacker or a broken head-end would: a
 * duplicated command reaches the meter twice (a replay), a corrupted one arrives with a good link CRC.
 * Rig pools use it for scenario `link-fault` steps; tests use it to run the contract's fault tests on real links.
 */
import { type Link, LinkError, type LinkState, type SendOptions } from '../transports/link.ts';
import { faultOutcome, type FaultRule, FaultRules } from '../transports/faults.ts';
import { Listeners } from '../transports/listeners.ts';

/**
 * Rules and frame counts, shared by every FaultLink made with it: a pool whose devices each have their own link
 * arms one fault for "the next frame to a device", whichever device that is, as on one shared link.
 */
export class FaultPlan extends FaultRules {
  /** From now on, this plan applies `other`'s rules (the same list: a rule fires a limited number of times in all). */
  shareRulesOf(other: FaultPlan): void {
    this.rules = other.rules;
  }
}

export class FaultLink implements Link {
  readonly name: string;
  private severed = false;
  private failed = false;
  private closing: Promise<void> = Promise.resolve();
  private readonly frameListeners = new Listeners<[frame: Uint8Array]>();
  private readonly stateListeners = new Listeners<[state: LinkState, error?: LinkError]>();
  /** The contract's fault controls. */
  readonly faults = {
    add: (rule: FaultRule) => void this.plan.add(rule),
    clear: () => void this.plan.clear(),
    disconnect: () => this.sever(),
    reconnect: () => void (this.severed = false),
  };

  constructor(
    readonly inner: Link,
    readonly plan: FaultPlan = new FaultPlan(),
  ) {
    this.name = inner.name;
    inner.onFrame((f) => this.arrive(f));
    inner.onState((s, e) => {
      // Once cut, what the link underneath does (closing) is not news: this end already failed.
      if (!this.failed) this.stateListeners.emit(s, e);
    });
  }

  get state(): LinkState {
    return this.failed ? 'failed' : this.inner.state;
  }

  async open(): Promise<void> {
    if (this.severed) {
      const e = new LinkError('open-failed', `${this.name}: the connection is down`);
      this.emit('failed', e);
      throw e;
    }
    await this.closing;
    this.failed = false;
    await this.inner.open();
  }

  async close(): Promise<void> {
    this.failed = false;
    await this.inner.close();
  }

  async send(frame: Uint8Array, o: SendOptions = {}): Promise<void> {
    if (this.failed) throw new LinkError('disconnected', `${this.name}: link is failed`);
    const outcome = faultOutcome(this.plan.next('to-device', frame), frame);
    if (outcome === 'disconnect') {
      this.sever();
      throw new LinkError('disconnected', `${this.name}: disconnected while sending`);
    }
    for (const [i, d] of outcome.entries()) {
      // A delayed frame is already on its (slow) way. Only the first copy can be withdrawn: once it has gone, a
      // duplicate behind it is sent regardless, or a withdrawal would deny a frame the device got.
      if (d.delayMs > 0) setTimeout(() => void this.inner.send(d.frame).catch(() => undefined), d.delayMs);
      else await this.inner.send(d.frame, i === 0 ? o : {});
    }
  }

  onFrame(listener: (frame: Uint8Array) => void): () => void {
    return this.frameListeners.add(listener);
  }

  onState(listener: (state: LinkState, error?: LinkError) => void): () => void {
    return this.stateListeners.add(listener);
  }

  private arrive(frame: Uint8Array): void {
    if (this.failed) return;
    const outcome = faultOutcome(this.plan.next('to-dcc', frame), frame);
    if (outcome === 'disconnect') return this.sever();
    for (const d of outcome) {
      if (d.delayMs > 0) setTimeout(() => this.deliver(d.frame), d.delayMs);
      else this.deliver(d.frame);
    }
  }

  private deliver(frame: Uint8Array): void {
    if (this.failed) return;
    this.frameListeners.emit(frame);
  }

  /** Cuts the connection: this end fails with 'disconnected' and the link underneath is closed. */
  private sever(): void {
    this.severed = true;
    if (this.failed) return;
    this.failed = true;
    this.emit('failed', new LinkError('disconnected', `${this.name}: disconnected`));
    this.closing = this.inner.close().catch(() => undefined);
  }

  private emit(state: LinkState, error?: LinkError): void {
    this.stateListeners.emit(state, error);
  }
}
