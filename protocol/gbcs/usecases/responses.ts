/**
 * Device responses to commands (CRA 02): the ESME's DLMS ACCESS.response and the GSME's ZCL response or Default
 * Response, wrapped in a General-Signing APDU that the device signs. A response echoes the command's originator
 * counter and message code, swaps originator and recipient, and carries the device's date-time.
 */
import { type Eui } from '../../smki/eui.ts';
import { type GeneralSigning } from '../apdu.ts';
import { ByteReader, ByteWriter, hex4 } from '../bytes.ts';
import { dlmsDateTime } from '../datetime.ts';
import { type AccessRequest, type AccessResponse, type DlmsData, readAccessResponse, writeAccessResponse } from '../dlms.ts';
import { type Decoded, decodeResult, fail } from '../errors.ts';
import { type GbzComponent, readGbz, writeGbz, ZclFrameControl } from '../gbz.ts';
import { CLUSTER_PREPAYMENT } from './payment-mode.ts';
import { CMD_CONSUMER_TOP_UP_RESPONSE } from './top-up.ts';

/** DLMS data-access-result codes GBCS devices use. */
export const DataAccessResult = { success: 0, hardwareFault: 1, temporaryFailure: 2, readWriteDenied: 3, objectUndefined: 4, typeUnmatched: 12, otherReason: 250 } as const;

/** ZCL status codes GBCS GSMEs use in a Default Response. */
export const ZclStatus = { success: 0x00, failure: 0x01, notAuthorized: 0x7e, malformedCommand: 0x80, invalidField: 0x85, invalidValue: 0x87, hardwareFailure: 0xc0 } as const;

export const ZCL_DEFAULT_RESPONSE = 0x0b;
/** Profile-wide, server to client: how a Default Response is framed. */
const FC_PROFILE_SERVER_TO_CLIENT = 0x08;
/** Frame type (bits 0-1) and manufacturer-specific (bit 2): all zero for a profile-wide ZCL command. */
const FC_FRAME_TYPE_AND_MANUFACTURER = 0x07;

/**
 * ACCESS.response for a request executed with break-on-error: specs before `failedAt` succeeded, the failed one
 * reports `failure`, later ones "other reason" (not attempted). `data` gives GET results (null-data otherwise).
 */
export function esmeAccessResponse(req: AccessRequest, opts: { failedAt?: number; failure?: number; data?: (DlmsData | undefined)[] } = {}): AccessResponse {
  const failedAt = opts.failedAt ?? req.specs.length;
  return {
    invokeId: req.invokeId,
    data: req.specs.map((_, i) => (i < failedAt ? opts.data?.[i] : undefined) ?? { type: 'null' }),
    results: req.specs.map((s, i) => ({
      kind: s.kind,
      result: i < failedAt ? DataAccessResult.success : i === failedAt ? (opts.failure ?? DataAccessResult.hardwareFault) : DataAccessResult.otherReason,
    })),
  };
}

export function encodeAccessResponse(res: AccessResponse): Buffer {
  const w = new ByteWriter();
  writeAccessResponse(w, res);
  return w.finish();
}

/** A GBZ response with one component. */
export function gbzResponse(clusterId: number, commandId: number, payload: Uint8Array, frameControl: number = ZclFrameControl.serverToClient): Buffer {
  const w = new ByteWriter();
  writeGbz(w, { components: [{ control: 0x01, clusterId, frame: { frameControl, sequence: 0, commandId, payload } }] });
  return w.finish();
}

/** ZCL Default Response to `commandId`: how a GSME reports a failed (or response-less) command. */
export function gbzDefaultResponse(clusterId: number, commandId: number, status: number): Buffer {
  return gbzResponse(clusterId, ZCL_DEFAULT_RESPONSE, Uint8Array.of(commandId, status), FC_PROFILE_SERVER_TO_CLIENT);
}

export interface ResponseEnvelope {
  /** The command being answered. */
  command: Pick<GeneralSigning, 'counter' | 'originator' | 'messageCode' | 'supplementary'>;
  device: Eui;
  /** Device clock at response time; null for use cases whose responses carry no date-time. */
  at: Date | null;
  content: Uint8Array;
}

/** The unsigned response APDU; the device signs it with its Digital Signing key. */
export function buildResponse(r: ResponseEnvelope): GeneralSigning {
  return {
    cra: 'response',
    counter: r.command.counter,
    originator: r.device,
    recipient: r.command.originator,
    dateTime: r.at ? dlmsDateTime(r.at) : null,
    messageCode: r.command.messageCode,
    supplementary: r.command.supplementary,
    content: r.content,
    signature: null,
  };
}

export type ResponseOutcome =
  | { family: 'esme'; success: boolean; results: number[]; data: DlmsData[] }
  | { family: 'gsme'; success: boolean; clusterId: number; commandId: number; status: number | null; payload: Uint8Array };

/**
 * Reads a response's content: for an ESME, the per-spec results (success when there are some and all are 0);
 * for a GSME, the ZCL command and, for a Default Response, its status (success when 0); a Consumer Top Up
 * Response succeeds when its result type is 0.
 */
export function parseResponseContent(content: Uint8Array): Decoded<ResponseOutcome> {
  return decodeResult(() => {
    const r = new ByteReader(content);
    if (content[0] === 0xda) {
      const res: AccessResponse = readAccessResponse(r);
      r.expectEnd('ACCESS.response');
      const results = res.results.map((x) => x.result);
      // Every command holds at least one request specification: an answer with no results reports nothing done.
      return { family: 'esme', success: results.length > 0 && results.every((x) => x === 0), results, data: res.data };
    }
    const gbz = readGbz(r);
    r.expectEnd('GBZ response');
    const last: GbzComponent | undefined = gbz.components[gbz.components.length - 1];
    if (!last) return fail('bad-value', 'GBZ response without components', 0);
    // A Default Response is profile-wide in either direction (a command the meter received as a client is
    // answered client to server); a failure in any component fails the response, not only in the last.
    const isDefault = (c: GbzComponent) => c.frame.commandId === ZCL_DEFAULT_RESPONSE && (c.frame.frameControl & FC_FRAME_TYPE_AND_MANUFACTURER) === 0;
    for (const c of gbz.components) if (isDefault(c) && c.frame.payload.length !== 2) fail('bad-length', `Default Response payload of ${c.frame.payload.length} octets`, 0);
    const failed = gbz.components.find((c) => isDefault(c) && c.frame.payload[1] !== 0);
    const reported = failed ?? last;
    // Encrypted for the User (GSME reads): what the meter reports is in the ciphertext, never to be guessed.
    if (reported.additionalHeader) fail('unsupported', `the outcome is in an encrypted GBZ component (cluster 0x${hex4(reported.clusterId)} command 0x${reported.frame.commandId.toString(16)}): only the User's key reads it`, 0);
    const f = reported.frame;
    if (isDefault(reported)) {
      const status = f.payload[1]!;
      return { family: 'gsme', success: status === 0, clusterId: reported.clusterId, commandId: f.payload[0]!, status, payload: f.payload };
    }
    // A Consumer Top Up Response carries its own outcome: its first octet, the ZSE result type (0 accepted, 1
    // invalid UTRN, 2 duplicate UTRN, ...). Other responses report success by being sent.
    const topUp = last.clusterId === CLUSTER_PREPAYMENT && f.commandId === CMD_CONSUMER_TOP_UP_RESPONSE;
    return { family: 'gsme', success: !topUp || f.payload[0] === 0, clusterId: last.clusterId, commandId: f.commandId, status: null, payload: f.payload };
  });
}

export function describeOutcome(o: ResponseOutcome): string {
  if (o.family === 'esme') return o.success ? 'success' : `failed: data-access-results ${o.results.join(',') || '(none)'}`;
  if (o.status === null) return `${o.success ? 'success' : `failed: result type ${o.payload[0] ?? '(none)'} in`} (cluster 0x${hex4(o.clusterId)} response 0x${o.commandId.toString(16)})`;
  return o.success ? 'success' : `failed: ZCL status 0x${o.status.toString(16).toUpperCase()}`;
}
