/**
 * An emulated SMETS1 meter behind the S1SP. It verifies no User signature: it checks only that an instruction
 * came from its own S1SP (the S1SP's ECDSA signature and EUI) and that the instruction id is above the last one
 * it accepted, then applies it. So for SMETS1 the DCC's check of the Service Request is the only gate on what
 * an instruction may do (MP134B BR5).
 *
 * Same state model and snapshot as SMETS2+ (meter.ts). Failures change nothing but the Security Log and are
 * answered with a 'rejected' response when the instruction header names a sender to answer.
 */
import { type KeyObject } from 'node:crypto';
import { zigbeeUtcTime } from '../../protocol/gbcs/datetime.ts';
import { decodeS1sp, encodeReply, peekS1spHeader, type S1spStatus, verifyInstruction } from '../../protocol/s1sp/frame.ts';
import { type Eui } from '../../protocol/smki/eui.ts';
import { Meter, type MeterOptions, type OperationOutcome, type PendingChange, type SecurityCode } from '../meter.ts';
import { SimClock } from '../clock.ts';
import { type Json } from '../snapshot.ts';
import { fingerprint } from '../smets2/trust-anchors.ts';

/** The S1SP a SMETS1 meter answers to. */
export interface S1spAnchor {
  eui: Eui;
  publicKey: KeyObject;
}

export interface Smets1MeterOptions extends MeterOptions {
  s1sp: S1spAnchor;
}

export const FUTURE_DATED_EXECUTED = 0x8f66;

interface Smets1Environment {
  clock: SimClock;
  s1sp: S1spAnchor;
}

const ENVIRONMENTS = new WeakMap<SimClock, WeakMap<S1spAnchor, Smets1Environment>>();

function environment(clock: SimClock, s1sp: S1spAnchor): Smets1Environment {
  let byS1sp = ENVIRONMENTS.get(clock);
  if (!byS1sp) ENVIRONMENTS.set(clock, (byS1sp = new WeakMap()));
  let env = byS1sp.get(s1sp);
  if (!env) byS1sp.set(s1sp, (env = Object.freeze({ clock, s1sp })));
  return env;
}

export class Smets1Meter extends Meter {
  /** Clock and S1SP, shared by every meter created with the same ones. */
  private env: Smets1Environment;

  constructor(o: Smets1MeterOptions) {
    super(o);
    this.env = environment(o.clock ?? new SimClock(), o.s1sp);
  }

  protected get clock(): SimClock {
    return this.env.clock;
  }

  private get s1sp(): S1spAnchor {
    return this.env.s1sp;
  }

  get generation(): 'smets1' {
    return 'smets1';
  }

  /** Re-points the meter at another S1SP (enrolment into a different service provider). */
  setS1sp(s1sp: S1spAnchor): void {
    this.env = environment(this.env.clock, s1sp);
  }

  handleFrame(frame: Uint8Array): void {
    const response = this.process(frame);
    if (response) this.output?.(response);
  }

  process(frame: Uint8Array): Uint8Array | null {
    const d = decodeS1sp(frame);
    if (!d.ok) {
      // An instruction from this meter's S1SP that it cannot read still names whom to answer and which id.
      const h = peekS1spHeader(frame);
      const reason = `malformed S1SP frame: ${d.error.toString()}`;
      if (h?.type !== 'instruction' || h.to !== this.eui || h.from !== this.s1sp.eui) return this.drop(reason);
      this.logSecurity({ code: '8F1E', reason, source: h.from, counter: h.id });
      return this.reply(h.from, h.id, { status: 'rejected' });
    }
    const f = d.value.frame;
    if (f.type !== 'instruction') return this.drop(`received an S1SP ${f.type}, not an instruction`);
    if (f.to !== this.eui) return this.drop(`addressed to ${f.to}`);
    const reject = (code: SecurityCode, reason: string) => {
      this.logSecurity({ code, reason, source: f.from, counter: f.id });
      return this.reply(f.from, f.id, { status: 'rejected' });
    };
    if (f.from !== this.s1sp.eui) return reject('8F53', `instruction from ${f.from}, not from this meter's S1SP`);
    if (!verifyInstruction(d.value, this.s1sp.publicKey)) return reject('8F53', 'S1SP signature does not verify');
    const highest = this.highestCounter(f.from);
    if (highest !== undefined && f.id <= highest) return reject('8F60', `instruction id ${f.id} is not above ${highest}`);
    const source = this.s1sp.eui; // shared string, equal to f.from
    this.acceptCounter(source, f.id);
    const outcome = this.perform(f.operation, { source, counter: f.id, useCase: f.operation.op });
    return this.reply(source, f.id, outcome);
  }

  private drop(reason: string): null {
    this.logSecurity({ code: '8F1E', reason });
    return null;
  }

  private seconds(): number {
    return zigbeeUtcTime(new Date(this.now()));
  }

  private reply(to: Eui, id: bigint, outcome: OperationOutcome | { status: S1spStatus }): Uint8Array {
    const read = 'read' in outcome && outcome.read ? { read: outcome.read } : {};
    return encodeReply({ type: 'response', id, from: this.eui, to, time: this.seconds(), status: outcome.status, ...read });
  }

  /** An S1SP instruction's change is logged under its operation's name, and its alert is the S1SP's own. */
  protected pendingChangeProblem(change: Omit<PendingChange, 'timer'>): string | null {
    if (change.ctx.useCase !== change.op.op) return `use case ${change.ctx.useCase} is not its operation, ${change.op.op}`;
    return change.alertInfo === undefined ? null : 'a SMETS1 meter raises no GBCS alert';
  }

  protected futureDatedExecuted(change: PendingChange): void {
    const alert = encodeReply({
      type: 'alert',
      id: BigInt(this.nextAlertCounter()),
      from: this.eui,
      to: change.ctx.source,
      time: this.seconds(),
      code: FUTURE_DATED_EXECUTED,
      instructionId: change.ctx.counter,
      operation: change.op.op,
    });
    this.output?.(alert);
  }

  protected trustSnapshot(): Json {
    return { s1sp: { eui: this.s1sp.eui, ds: fingerprint(this.s1sp.publicKey) } };
  }
}
