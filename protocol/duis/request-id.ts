/**
 * DUIS RequestID / ResponseID: "originator EUI-64 : target EUI-64 : counter", EUIs as eight dash-separated
 * octets, the counter a uint64 without leading zeros (DUIS Schema V5.4 RequestIDType / ResponseIDType).
 */
import { type Eui, euiDashed, parseEui } from '../smki/eui.ts';
import { refuse, type Where } from './errors.ts';
import { collapse } from './simple-types.ts';

export interface RequestId {
  /** The User that sent the request (whose XML Signing key signs it). */
  user: Eui;
  /** The device, or the DCC's EUI for non-device requests. */
  target: Eui;
  /** Strictly increasing per User: the anti-replay counter, also the GBCS originator counter. */
  counter: bigint;
}

export interface ResponseId {
  originator: Eui;
  target: Eui;
  counter: bigint;
}

export const UINT64_MAX = 2n ** 64n - 1n;

const EUI = '[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}';
const MESSAGE_ID = new RegExp(`^(${EUI}):(${EUI}):(0|[1-9][0-9]{0,19})$`);

function parseTriple(text: string, what: string, where?: Where): [Eui, Eui, bigint] {
  const t = collapse(text);
  const m = MESSAGE_ID.exec(t);
  if (!m) refuse('value', `${what} ${JSON.stringify(t.slice(0, 80))} is not HH-..-HH:HH-..-HH:counter`, where);
  const counter = BigInt(m[3]!);
  if (counter > UINT64_MAX) refuse('value', `${what} counter ${counter} exceeds 2^64-1`, where);
  return [parseEui(m[1]!), parseEui(m[2]!), counter];
}

export function parseRequestId(text: string, where?: Where): RequestId {
  const [user, target, counter] = parseTriple(text, 'RequestID', where);
  return { user, target, counter };
}

export function parseResponseId(text: string, where?: Where): ResponseId {
  const [originator, target, counter] = parseTriple(text, 'ResponseID', where);
  return { originator, target, counter };
}

function formatTriple(a: Eui, b: Eui, counter: bigint): string {
  if (counter < 0n || counter > UINT64_MAX) refuse('value', `counter ${counter} is not a uint64`);
  return `${euiDashed(a)}:${euiDashed(b)}:${counter.toString(10)}`;
}

export function formatRequestId(id: RequestId): string {
  return formatTriple(id.user, id.target, id.counter);
}

export function formatResponseId(id: ResponseId): string {
  return formatTriple(id.originator, id.target, id.counter);
}
