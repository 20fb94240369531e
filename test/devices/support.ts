/** Emulated meters with a deterministic test PKI, and helpers to talk to them directly (no link). */
import { decodeGeneralCiphering, decodeGeneralSigning, type GeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { verifyApdu } from '../../protocol/gbcs/security.ts';
import { type UseCaseCodec } from '../../protocol/gbcs/usecases/command-codec.ts';
import { parseResponseContent, type ResponseOutcome } from '../../protocol/gbcs/usecases/responses.ts';
import { type Eui, parseEui } from '../../protocol/smki/eui.ts';
import { SimClock } from '../../devices/clock.ts';
import { type InitialState, type MeterVariant } from '../../devices/meter.ts';
import { GeneratedKeySource } from '../../devices/smets2/keys.ts';
import { Smets2Meter } from '../../devices/smets2/meter.ts';
import { type CommandOptions, CommandBuilder, makeTestPki } from '../../devices/testing/command-builder.ts';

export const ESME_EUI = parseEui('00DB1234567890A0');
export const TWIN_EUI = parseEui('00DB1234567890A2');
export const GSME_EUI = parseEui('00DB1234567890A1');
export const pki = makeTestPki('device tests');
export const keys = new GeneratedKeySource();
export const build = new CommandBuilder(pki, (eui) => keys.keysFor(eui).ka.publicKey);

export interface Rig {
  meter: Smets2Meter;
  clock: SimClock;
  /** Frames the meter sent on its own (alerts). */
  sent: Uint8Array[];
}

export function meter(variant: MeterVariant, initial: Partial<InitialState> = {}): Rig {
  const clock = new SimClock();
  const eui = variant === 'gsme' ? GSME_EUI : variant === 'esme-twin' ? TWIN_EUI : ESME_EUI;
  const m = new Smets2Meter({ eui, variant, keys, trustAnchors: pki.anchors, clock, initial });
  const sent: Uint8Array[] = [];
  m.setOutput((f) => sent.push(f));
  return { meter: m, clock, sent };
}

/** The General-Signing APDU in a frame (unwrapping General-Ciphering). */
export function apduOf(frame: Uint8Array): GeneralSigning {
  let bytes = frame;
  if (frame[0] === 0xdd) {
    const c = decodeGeneralCiphering(frame);
    if (!c.ok) throw new Error(c.error.toString());
    bytes = c.value.payload;
  }
  const d = decodeGeneralSigning(bytes);
  if (!d.ok) throw new Error(d.error.toString());
  return d.value;
}

export interface Answer {
  frame: Uint8Array;
  apdu: GeneralSigning;
  outcome: ResponseOutcome;
  /** Signed by the meter's DS key (critical and error responses), or null for a MACed one. */
  signedByMeter: boolean | null;
}

export function answer(m: Smets2Meter, frame: Uint8Array | null): Answer | null {
  if (!frame) return null;
  const apdu = apduOf(frame);
  const outcome = parseResponseContent(apdu.content);
  if (!outcome.ok) throw new Error(outcome.error.toString());
  return { frame, apdu, outcome: outcome.value, signedByMeter: apdu.signature ? verifyApdu(apdu, keys.keysFor(m.eui).ds.publicKey) : null };
}

/** Builds a Command for the meter and runs it through the meter's checks. */
export function send<P>(m: Smets2Meter, codec: UseCaseCodec<P>, params: P, o: Omit<CommandOptions, 'device'>): Answer | null {
  return answer(m, m.process(build.command(codec, params, { ...o, device: m.eui })));
}

export function eui(text: string): Eui {
  return parseEui(text);
}
