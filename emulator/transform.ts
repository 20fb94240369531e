/**
 * Transform and the Signed Pre-Command checks.
 *
 * CV 4: the DCC transforms the Service Request into the GBCS Pre-Command, keeps it (single use) and returns it.
 * CV 5: the Signed Pre-Command must be byte-identical, apart from its signature, to the Pre-Command this DCC
 * issued for that RequestID, and unused (correlation). For the SoLR Contingency role it must also decode to
 * ECS02 / GCS02 with a credit payload (MP134B BR5): the failed supplier's key that signs it could sign anything.
 *
 * [model] For an SC request on a SMETS2+ device the Pre-Command's originator is the device's registered (failed)
 * supplier: that is the remote party whose key the device trusts. The RequestID counter is the originator
 * counter, as for every User.
 */
import type { DuisRequest } from '../protocol/duis/index.ts';
import { decodeGeneralSigning, encodeGeneralSigning, type GeneralSigning } from '../protocol/gbcs/apdu.ts';
import { parsePaymentModeCommand, PAYMENT_MODE_CODES, type MeterVariant } from '../protocol/gbcs/usecases/payment-mode.ts';
import { commandForRequest } from '../protocol/transform/device-services.ts';
import { preCommandForRequest } from '../protocol/transform/payment-mode.ts';
import type { Eui } from '../protocol/smki/eui.ts';
import type { UserRole } from '../protocol/smki/roles.ts';
import type { Refusal } from './access/checks.ts';
import type { DeviceRecord } from './registry.ts';
import type { Db } from './store.ts';

export function meterVariant(device: DeviceRecord): MeterVariant {
  if (device.type === 'GSME') return 'gsme';
  return device.twin ? 'esme-twin' : 'esme';
}

/** Builds the Pre-Command for a CV 4 request. Only SRV 1.6 transforms here; other SRVs come from `extra`. */
export type Transformer = (request: DuisRequest, device: DeviceRecord, originator: Eui, dccTime: Date) => GeneralSigning;

export const transformPaymentMode: Transformer = (request, device, originator, dccTime) => {
  const pre = preCommandForRequest(request, meterVariant(device), dccTime);
  return { ...pre, originator };
};

/** The other device services (supply, balance, emergency credit, top-up): protocol/transform/device-services.ts. */
export const transformDeviceService: Transformer = (request, device, originator, dccTime) =>
  commandForRequest(request, device.type === 'GSME' || (device.type === 'SMETS1' && device.fuel === 'gas') ? 'gsme' : 'esme', originator, dccTime).apdu;

/** The GBCS originator of a Pre-Command: the User, or for SC the failed supplier the device trusts. */
export function preCommandOriginator(role: UserRole, user: Eui, device: DeviceRecord): Eui {
  return role === 'SC' ? device.supplier : user;
}

export class PreCommands {
  constructor(private readonly db: Db) {}

  issue(requestId: string, user: Eui, device: Eui, apdu: GeneralSigning, now: Date): Buffer {
    const bytes = encodeGeneralSigning(apdu);
    this.db
      .prepare('INSERT INTO precommands (request_id, user, device, bytes, issued_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING')
      .run(requestId, user, device, bytes, now.toISOString());
    return bytes;
  }

  get(requestId: string): { user: Eui; device: Eui; bytes: Buffer; usedBy: number | null } | undefined {
    const row = this.db.prepare('SELECT user, device, bytes, used_by FROM precommands WHERE request_id = ?').get(requestId) as
      | { user: string; device: string; bytes: Buffer; used_by: number | null }
      | undefined;
    return row && { user: row.user as Eui, device: row.device as Eui, bytes: row.bytes, usedBy: row.used_by };
  }

  markUsed(requestId: string, requestRow: number): void {
    this.db.prepare('UPDATE precommands SET used_by = ? WHERE request_id = ? AND used_by IS NULL').run(requestRow, requestId);
  }
}

export type Correlated = { ok: true; apdu: GeneralSigning } | ({ ok: false } & Refusal);

const CORRELATION = 'correlation';

/** CV 5 correlation: the signed payload against the Pre-Command issued for this RequestID. */
export function correlate(issued: { user: Eui; device: Eui; bytes: Buffer; usedBy: number | null } | undefined, user: Eui, signedPayload: Uint8Array): Correlated {
  const refuse = (reason: string): Correlated => ({ ok: false, code: 'E12', check: CORRELATION, reason });
  if (!issued) return refuse('no Pre-Command was issued for this RequestID');
  if (issued.user !== user) return refuse('the Pre-Command for this RequestID was issued to another User');
  if (issued.usedBy !== null) return refuse('this Pre-Command has already been used');
  const d = decodeGeneralSigning(signedPayload);
  if (!d.ok) return refuse(`the Signed Pre-Command does not decode: ${d.error.toString()}`);
  if (!d.value.signature) return refuse('the Signed Pre-Command carries no signature');
  const unsigned = encodeGeneralSigning({ ...d.value, signature: null });
  if (!unsigned.equals(issued.bytes)) return refuse('the Signed Pre-Command differs from the Pre-Command this DCC issued');
  return { ok: true, apdu: d.value };
}

/**
 * MP134B BR5 for SMETS2+: the Signed Pre-Command must be a switch to Credit. `codeOnly` is a seeded defect
 * (content check reading only the message code) for negative-control runs.
 */
export function solrContentCheck(apdu: GeneralSigning, options: { codeOnly?: boolean } = {}): Refusal | null {
  const refuse = (reason: string): Refusal => ({ code: 'E2', check: 'solr-content', reason });
  const credit = apdu.messageCode === PAYMENT_MODE_CODES.ECS02 || apdu.messageCode === PAYMENT_MODE_CODES.GCS02;
  if (!credit) return refuse(`the SoLR Contingency role may only send ECS02/GCS02 (switch to Credit), got message code 0x${apdu.messageCode.toString(16).padStart(4, '0')}`);
  if (options.codeOnly) return null;
  const parsed = parsePaymentModeCommand(apdu);
  if (!parsed.ok) return refuse(`the Signed Pre-Command is not a canonical switch to Credit: ${parsed.error.message}`);
  if (parsed.value.change.target.mode !== 'credit') return refuse('the Signed Pre-Command does not switch to Credit');
  return null;
}

/** MP134B BR5 for SMETS1: the Service Request itself must be UpdatePaymentMode to Credit. */
export function smets1ContentCheck(request: DuisRequest, options: { serviceOnly?: boolean } = {}): Refusal | null {
  const body = request.body;
  if (body.kind !== 'UpdatePaymentMode') return { code: 'E2', check: 'solr-content', reason: 'the SoLR Contingency role may only send UpdatePaymentMode' };
  if (options.serviceOnly) return null;
  if (body.paymentMode.mode !== 'Credit') return { code: 'E2', check: 'solr-content', reason: 'the SoLR Contingency role may only switch a SMETS1 meter to Credit' };
  return null;
}

