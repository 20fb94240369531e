/**
 * A User's checks on the device's answer inside a DCC delivery, before it believes what the answer says.
 *
 * SMETS2+ (GBCS): the answer must be a Response from the addressed meter to this command's counter, authenticated
 * by the meter itself: signed with its Digital Signing key (critical commands, rejections), or MACed for the
 * command's originator with a key agreed between the meter's and the originator's Key Agreement keys. When the
 * User knows the command (it signed it), the answer must also be addressed to the command's originator, carry its
 * message code and, from an ESME, give one result per request specification.
 * SMETS1: the answer comes from the S1SP, whose integrity the DCC's delivery signature (already verified) covers;
 * it must still come from the addressed meter.
 */
import type { KeyObject } from 'node:crypto';
import type { GeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { ByteReader } from '../../protocol/gbcs/bytes.ts';
import type { Execution } from '../../protocol/gbcs/datetime.ts';
import { ACCESS_REQUEST_TAG, readAccessRequest } from '../../protocol/gbcs/dlms.ts';
import { decodeResult } from '../../protocol/gbcs/errors.ts';
import { decodeFrame } from '../../protocol/gbcs/frame.ts';
import { formatMessageCode } from '../../protocol/gbcs/message-codes.ts';
import { verifyApdu, verifyCommandMac } from '../../protocol/gbcs/security.ts';
import { parseResponseContent } from '../../protocol/gbcs/usecases/responses.ts';
import { decodeS1sp, peekS1spHeader, type S1spStatus } from '../../protocol/s1sp/frame.ts';
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

/** What the User knows of the command it sent. */
export interface ExpectedAnswer {
  device: Eui;
  counter: bigint;
  /**
   * The command as the User signed it (a critical command's Signed Pre-Command). Absent when the DCC built the
   * command (non-critical): the User has never seen it, and the checks it allows are skipped.
   */
  command?: Pick<GeneralSigning, 'originator' | 'messageCode' | 'content'>;
  /** When the command asked for its change: which S1SP statuses say it was done (any of them when absent). */
  execution?: Execution['kind'];
}

/** A date already past executes at once, so a future-dated change may come back executed. */
const S1SP_DONE: Record<Execution['kind'] | 'unknown', readonly S1spStatus[]> = {
  now: ['executed'],
  at: ['executed', 'scheduled'],
  never: ['cancelled'],
  unknown: ['executed', 'scheduled', 'cancelled'],
};

/** Checks the answer to the command with this counter sent to `device`; `keys` is asked only for a GBCS answer. */
export function checkDeviceAnswer(payload: Uint8Array, expected: ExpectedAnswer, keys: () => AnswerKeys): DeviceAnswer {
  // An S1SP header first: a SMETS1 answer taken for GBCS would be decoded only to fail.
  const frame = peekS1spHeader(payload) ? null : decodeFrame(payload);
  if (!frame?.ok) {
    const s = decodeS1sp(payload);
    if (!s.ok || s.value.frame.type !== 'response') return { ok: false, problem: `the device's answer is neither a GBCS response nor an S1SP one` };
    const r = s.value.frame;
    if (r.from !== expected.device) return { ok: false, problem: `the S1SP answer comes from ${r.from}, not from ${expected.device}` };
    return { ok: true, from: 's1sp', success: S1SP_DONE[expected.execution ?? 'unknown'].includes(r.status), status: r.status };
  }
  const { kind, apdu, ciphering } = frame.value;
  if (kind !== 'response' || apdu.originator !== expected.device || apdu.counter !== expected.counter) {
    return { ok: false, problem: `the meter's answer does not answer this command (a ${kind} from ${apdu.originator}, counter ${apdu.counter})` };
  }
  const command = expected.command;
  if (command && apdu.recipient !== command.originator) {
    return { ok: false, problem: `the meter's answer is addressed to ${apdu.recipient}, not to ${command.originator}, who sent the command` };
  }
  if (command && apdu.messageCode !== command.messageCode) {
    return { ok: false, problem: `the meter's answer has message code ${formatMessageCode(apdu.messageCode)}, not the command's ${formatMessageCode(command.messageCode)}` };
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
  // DLMS answers each request specification with one result: fewer would leave part of the command unreported.
  const specs = command ? accessRequestSpecs(command.content) : null;
  if (specs !== null && content.ok && (content.value.family !== 'esme' || content.value.results.length !== specs)) {
    const got = content.value.family === 'esme' ? `${content.value.results.length} result(s)` : 'a GBZ response';
    return { ok: false, problem: `the meter's answer gives ${got} to a command with ${specs} request specification(s)` };
  }
  return { ok: true, from: 'meter', success: content.ok && content.value.success };
}

/** How many request specifications an ESME command's ACCESS.request holds (null: the content is not one). */
function accessRequestSpecs(content: Uint8Array): number | null {
  if (content[0] !== ACCESS_REQUEST_TAG) return null;
  const d = decodeResult(() => readAccessRequest(new ByteReader(content)).specs.length);
  return d.ok ? d.value : null;
}
