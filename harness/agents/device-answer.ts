/**
 * A User's checks on the device's answer inside a DCC delivery, before it believes what the answer says.
 *
 * SMETS2+ (GBCS): the answer must be a Response from the addressed meter to this command's counter, addressed to
 * the command's originator, and authenticated by the meter itself: signed with its Digital Signing key (critical
 * commands, rejections), or MACed for the originator with a key agreed between the meter's and the originator's
 * Key Agreement keys. When the User knows the command (it signed it), the answer must also carry its message code
 * and, from an ESME, give one result per request specification. An S1SP answer is never believed for a SMETS2+
 * meter: nothing in it is the meter's, so a DCC could write one for any device.
 * SMETS1: the answer comes from the S1SP. The DCC's delivery signature (already verified) covers what the DCC
 * relays; the S1SP frame's own integrity check must hold too (a DCC that garbles the answer passes no further),
 * and it must come from the addressed meter.
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
import { checkReply, decodeS1sp, type S1spStatus } from '../../protocol/s1sp/frame.ts';
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
  /** Whether the device is a SMETS1 meter, which answers through the S1SP; a SMETS2+ one answers in GBCS. */
  smets1: boolean;
  counter: bigint;
  /**
   * The originator the command names, whom a GBCS answer is addressed to: the Signed Pre-Command's for a critical
   * command; for one the DCC built, the User (the failed supplier for the SoLR Contingency role).
   */
  originator: Eui;
  /**
   * The command as the User signed it (a critical command's Signed Pre-Command). Absent when the DCC built the
   * command (non-critical): the User has never seen it, and the checks it allows are skipped.
   */
  command?: Pick<GeneralSigning, 'messageCode' | 'content'>;
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
  if (expected.smets1) {
    const s = decodeS1sp(payload);
    if (!s.ok || s.value.frame.type !== 'response') return { ok: false, problem: `the answer for SMETS1 device ${expected.device} is not an S1SP response` };
    if (!checkReply(s.value)) return { ok: false, problem: `the S1SP answer for ${expected.device} fails its integrity check (changed after the S1SP sent it)` };
    const r = s.value.frame;
    if (r.from !== expected.device) return { ok: false, problem: `the S1SP answer comes from ${r.from}, not from ${expected.device}` };
    return { ok: true, from: 's1sp', success: S1SP_DONE[expected.execution ?? 'unknown'].includes(r.status), status: r.status };
  }
  const frame = decodeFrame(payload);
  if (!frame.ok) return { ok: false, problem: `the answer for SMETS2+ device ${expected.device} is not a GBCS response from the meter` };
  const { kind, apdu, ciphering } = frame.value;
  if (kind !== 'response' || apdu.originator !== expected.device || apdu.counter !== expected.counter) {
    return { ok: false, problem: `the meter's answer does not answer this command (a ${kind} from ${apdu.originator}, counter ${apdu.counter})` };
  }
  if (apdu.recipient !== expected.originator) {
    return { ok: false, problem: `the meter's answer is addressed to ${apdu.recipient}, not to ${expected.originator}, who sent the command` };
  }
  const command = expected.command;
  if (command && apdu.messageCode !== command.messageCode) {
    return { ok: false, problem: `the meter's answer has message code ${formatMessageCode(apdu.messageCode)}, not the command's ${formatMessageCode(command.messageCode)}` };
  }
  const known = keys();
  if (ciphering) {
    if (!known.mac) return { ok: false, problem: `the meter's answer is MACed, and no Key Agreement keys are known to check it` };
    if (!verifyCommandMac(ciphering, apdu, known.mac.own, known.mac.device)) return { ok: false, problem: `the MAC on the meter's answer does not verify` };
  } else {
    if (!apdu.signature) return { ok: false, problem: `the meter's answer carries neither a signature nor a MAC` };
    if (known.ds.length === 0) return { ok: false, problem: `no valid Digital Signing certificate is known for ${expected.device}` };
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
