/**
 * A User's checks on the device's answer inside a DCC delivery, before it believes what the answer says.
 *
 * SMETS2+ (GBCS): the answer must be a Response from the addressed meter to this command's counter, authenticated
 * by the meter itself: signed with its Digital Signing key (critical commands, rejections), or MACed for the
 * command's originator with a key agreed between the meter's and the originator's Key Agreement keys.
 * SMETS1: the answer comes from the S1SP, whose integrity the DCC's delivery signature (already verified) covers;
 * it must still come from the addressed meter.
 */
import type { KeyObject } from 'node:crypto';
import { decodeFrame } from '../../protocol/gbcs/frame.ts';
import { verifyApdu, verifyCommandMac } from '../../protocol/gbcs/security.ts';
import { parseResponseContent } from '../../protocol/gbcs/usecases/responses.ts';
import { decodeS1sp, type S1spStatus } from '../../protocol/s1sp/frame.ts';
import type { Eui } from '../../protocol/smki/eui.ts';
import type { AgreementPrivate, AgreementPublic } from '../../protocol/smki/keys.ts';

/** What the User knows to check a meter's answer with. */
export interface AnswerKeys {
  /** The meter's Digital Signing public keys (its SMKI Device certificates). */
  ds: readonly KeyObject[];
  /** For a MACed answer: the originator's own Key Agreement private key and the meter's public one. */
  mac: { own: AgreementPrivate; device: AgreementPublic } | null;
}

export type DeviceAnswer =
  | { ok: true; from: 'meter'; success: boolean }
  | { ok: true; from: 's1sp'; success: boolean; status: S1spStatus }
  | { ok: false; problem: string };

const S1SP_DONE: readonly S1spStatus[] = ['executed', 'scheduled', 'cancelled'];

/** Checks the answer to the command with this counter sent to `device`; `keys` is asked only for a GBCS answer. */
export function checkDeviceAnswer(payload: Uint8Array, expected: { device: Eui; counter: bigint }, keys: () => AnswerKeys): DeviceAnswer {
  const frame = decodeFrame(payload);
  if (!frame.ok) {
    const s = decodeS1sp(payload);
    if (!s.ok || s.value.frame.type !== 'response') return { ok: false, problem: `the device's answer is neither a GBCS response nor an S1SP one` };
    const r = s.value.frame;
    if (r.from !== expected.device) return { ok: false, problem: `the S1SP answer comes from ${r.from}, not from ${expected.device}` };
    return { ok: true, from: 's1sp', success: S1SP_DONE.includes(r.status), status: r.status };
  }
  const { kind, apdu, ciphering } = frame.value;
  if (kind !== 'response' || apdu.originator !== expected.device || apdu.counter !== expected.counter) {
    return { ok: false, problem: `the meter's answer does not answer this command (a ${kind} from ${apdu.originator}, counter ${apdu.counter})` };
  }
  const known = keys();
  if (ciphering) {
    if (!known.mac) return { ok: false, problem: `the meter's answer is MACed, and no Key Agreement keys are known to check it` };
    if (!verifyCommandMac(ciphering, apdu, known.mac.own, known.mac.device)) return { ok: false, problem: `the MAC on the meter's answer does not verify` };
  } else {
    if (!apdu.signature) return { ok: false, problem: `the meter's answer carries neither a signature nor a MAC` };
    if (known.ds.length === 0) return { ok: false, problem: `no Digital Signing certificate is known for ${expected.device}` };
    if (!known.ds.some((k) => verifyApdu(apdu, k))) return { ok: false, problem: `the signature on the meter's answer does not verify with its Digital Signing key` };
  }
  const content = parseResponseContent(apdu.content);
  return { ok: true, from: 'meter', success: content.ok && content.value.success };
}
