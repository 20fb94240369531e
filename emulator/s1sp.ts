/**
 * The SMETS1 Service Provider. The DCC hands it an operation for a SMETS1 meter (after its own checks of the
 * Service Request: for SMETS1 they are the only gate); the S1SP signs an instruction with its key, numbers it
 * with its own strictly increasing instruction counter (the meter's anti-replay check), sends it over a channel
 * to the meter and returns the meter's answer. Alerts from meters are passed to listeners.
 *
 * The channel is whatever can carry a request and its response: the harness passes a Transport over a Link.
 * This module does not import the devices side; they meet only through that channel.
 */
import { type KeyObject } from 'node:crypto';
import { zigbeeUtcTime } from '../protocol/gbcs/datetime.ts';
import { checkReply, decodeS1sp, encodeInstruction, type S1spAlert, type S1spStatus } from '../protocol/s1sp/frame.ts';
import { type MeterOperation, type ReadResult } from '../protocol/s1sp/operations.ts';
import { type Eui } from '../protocol/smki/eui.ts';
import type { DuisRequest, UpdatePaymentModeBody } from '../protocol/duis/request.ts';
import { encodeOperation } from '../protocol/s1sp/operation-codec.ts';
import { paymentModeChangeFromDuis, TransformError } from '../protocol/transform/payment-mode.ts';

/** Carries one instruction and resolves with the meter's response frame (a Transport satisfies it). */
export interface InstructionChannel {
  request(frame: Uint8Array, o?: { responseTimeoutMs?: number }): Promise<{ frame: Uint8Array }>;
  onAlert?(listener: (a: { frame: Uint8Array }) => void): () => void;
}

export interface S1spOptions {
  eui: Eui;
  /** The S1SP's ECDSA P-256 private key; meters hold the public half. */
  signingKey: KeyObject;
  channel: InstructionChannel;
  /** The S1SP's clock (for the instruction timestamp); defaults to the wall clock. */
  now?: () => Date;
  /** The first instruction id; ids then increase by one (default 1). */
  firstId?: bigint;
}

export interface S1spResult {
  status: S1spStatus;
  /** The instruction id the meter answered. */
  id: bigint;
  read?: ReadResult;
  frame: Uint8Array;
}

/** The meter's answer could not be read or was corrupted in transit (infrastructure, not the meter's "no"). */
export class S1spReplyError extends Error {
  override readonly name = 'S1spReplyError';
}

export interface S1spAlertEvent {
  meter: Eui;
  alert: S1spAlert;
}

export class S1sp {
  readonly eui: Eui;
  private readonly key: KeyObject;
  private readonly channel: InstructionChannel;
  private readonly now: () => Date;
  private nextId: bigint;
  private readonly listeners = new Set<(e: S1spAlertEvent) => void>();

  constructor(o: S1spOptions) {
    this.eui = o.eui;
    this.key = o.signingKey;
    this.channel = o.channel;
    this.now = o.now ?? (() => new Date());
    this.nextId = o.firstId ?? 1n;
    o.channel.onAlert?.((a) => this.alert(a.frame));
  }

  /** The id the next instruction will carry (for an S1SP that must resume its numbering after a restart). */
  peekNextId(): bigint {
    return this.nextId;
  }

  /** Builds and signs the instruction the S1SP would send (without sending it). */
  instruction(meter: Eui, operation: MeterOperation, reference = 0n): { id: bigint; frame: Uint8Array } {
    const id = this.nextId++;
    const frame = encodeInstruction({ type: 'instruction', id, from: this.eui, to: meter, time: zigbeeUtcTime(this.now()), reference, operation }, this.key);
    return { id, frame };
  }

  /**
   * Sends `operation` to `meter` and returns its outcome. `reference` is the DCC's request counter, carried for
   * traceability. Transport errors (timeouts, disconnects) propagate unchanged.
   */
  async instruct(meter: Eui, operation: MeterOperation, o: { reference?: bigint; responseTimeoutMs?: number } = {}): Promise<S1spResult> {
    const { id, frame } = this.instruction(meter, operation, o.reference ?? 0n);
    const reply = await this.channel.request(frame, o.responseTimeoutMs === undefined ? {} : { responseTimeoutMs: o.responseTimeoutMs });
    const d = decodeS1sp(reply.frame);
    if (!d.ok) throw new S1spReplyError(`unreadable response from ${meter}: ${d.error.toString()}`);
    if (!checkReply(d.value)) throw new S1spReplyError(`response from ${meter} fails its integrity check`);
    const f = d.value.frame;
    if (f.type !== 'response' || f.id !== id || f.from !== meter) throw new S1spReplyError(`response from ${meter} does not answer instruction ${id}`);
    return { status: f.status, id, ...(f.read ? { read: f.read } : {}), frame: reply.frame };
  }

  onAlert(listener: (e: S1spAlertEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private alert(frame: Uint8Array): void {
    const d = decodeS1sp(frame);
    if (!d.ok || !checkReply(d.value) || d.value.frame.type !== 'alert') return;
    const alert = d.value.frame;
    for (const l of this.listeners) l({ meter: alert.from, alert });
  }
}

/**
 * The SMETS1 operation for a DUIS SRV 1.6 Update Payment Mode body, read as the SMETS2+ transform reads it (a
 * date-time without zone is UTC, whatever the host's zone), so what the DCC's checks saw is what the meter runs.
 */
export function operationFromUpdatePaymentMode(body: UpdatePaymentModeBody): MeterOperation {
  return { op: 'payment-mode', ...paymentModeChangeFromDuis(body) };
}

/**
 * The S1SP instruction a request becomes, built (and encoded) before the DCC accepts it: a request the S1SP
 * cannot carry is refused then (E11), not answered I99 and failed later as a communication failure.
 */
export function smets1Operation(request: DuisRequest): MeterOperation {
  if (request.header.serviceReferenceVariant !== '1.6' || request.body.kind !== 'UpdatePaymentMode') {
    throw new TransformError(`the S1SP carries SRV 1.6 Update Payment Mode, not SRV ${request.header.serviceReferenceVariant} (${request.body.kind === 'opaque' ? request.body.name : request.body.kind})`);
  }
  const op = operationFromUpdatePaymentMode(request.body);
  try {
    encodeOperation(op);
  } catch (e) {
    throw new TransformError(`the S1SP cannot carry this instruction: ${(e as Error).message}`);
  }
  return op;
}
