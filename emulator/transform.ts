/**
 * Transform and the Signed Pre-Command checks.
 *
 * CV 4: the DCC transforms the Service Request into the GBCS Pre-Command, keeps it (single use) and returns it.
 * CV 5: the Signed Pre-Command must be byte-identical, apart from its signature, to the Pre-Command this DCC
 * issued for that RequestID and Service Reference Variant, and unused (correlation): access, anomaly detection
 * and the audit log all go by the CV 5 header's SRV, so it must be the one the Pre-Command was made for. It must
 * also be authorised in the User Role it was issued to: the SoLR content check follows the role. For the SoLR
 * Contingency role an SRV 1.6 Pre-Command must decode to ECS02 / GCS02 with a credit payload (MP134B BR5), and
 * one of another SRV added to the role's list (BR3) to a use case of that SRV: the failed supplier's key that
 * signs it could sign anything.
 *
 * [model] For an SC request on a SMETS2+ device the Pre-Command's originator is the device's registered (failed)
 * supplier: that is the remote party whose key the device trusts. The RequestID counter is the originator
 * counter, as for every User.
 */
import type { DuisRequest } from '../protocol/duis/index.ts';
import { decodeGeneralSigning, encodeGeneralSigning, type GeneralSigning } from '../protocol/gbcs/apdu.ts';
import { formatMessageCode, useCaseByCode } from '../protocol/gbcs/message-codes.ts';
import { parsePaymentModeCommand, PAYMENT_MODE_CODES, type MeterVariant } from '../protocol/gbcs/usecases/payment-mode.ts';
import { commandForRequest } from '../protocol/transform/device-services.ts';
import { executionFromDuis, preCommandForRequest } from '../protocol/transform/payment-mode.ts';
import type { Execution } from '../protocol/gbcs/datetime.ts';
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

/** The GBCS originator of a command (CV 4 or 1): the User, or for SC the failed supplier the device trusts. */
export function preCommandOriginator(role: UserRole, user: Eui, device: DeviceRecord): Eui {
  return role === 'SC' ? device.supplier : user;
}

export class PreCommands {
  constructor(private readonly db: Db) {}

  /** Keeps the Pre-Command with the User Role it was issued to (and so its GBCS originator): CV 5 must match them. */
  issue(requestId: string, user: Eui, role: UserRole, device: Eui, srv: string, apdu: GeneralSigning, now: Date): Buffer {
    const bytes = encodeGeneralSigning(apdu);
    this.db
      .prepare('INSERT INTO precommands (request_id, user, role, originator, device, srv, bytes, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING')
      .run(requestId, user, role, apdu.originator, device, srv, bytes, now.toISOString());
    return bytes;
  }

  get(requestId: string): KeptPreCommand | undefined {
    const row = this.db.prepare('SELECT user, role, originator, device, srv, bytes, used_by FROM precommands WHERE request_id = ?').get(requestId) as
      | { user: string; role: string | null; originator: string | null; device: string; srv: string | null; bytes: Buffer; used_by: number | null }
      | undefined;
    return row && { user: row.user as Eui, role: row.role as UserRole | null, originator: row.originator as Eui | null, device: row.device as Eui, srv: row.srv, bytes: row.bytes, usedBy: row.used_by };
  }

  /** The Pre-Command is spent: by the Command it became, or by the quarantine that stopped that Command. */
  markUsed(requestId: string, requestRow: number): void {
    this.db.prepare('UPDATE precommands SET used_by = ? WHERE request_id = ? AND used_by IS NULL').run(requestRow, requestId);
  }
}

export interface IssuedPreCommand {
  user: Eui;
  device: Eui;
  /** null for a Pre-Command kept by an earlier version, which did not record it. */
  srv: string | null;
  bytes: Buffer;
  usedBy: number | null;
}

/** A Pre-Command as the store keeps it: also the role and originator it was issued for (null: kept by an earlier version). */
export interface KeptPreCommand extends IssuedPreCommand {
  role: UserRole | null;
  originator: Eui | null;
}

export type Correlated = { ok: true; apdu: GeneralSigning } | ({ ok: false } & Refusal);

const CORRELATION = 'correlation';

/** CV 5 correlation: the signed payload against the Pre-Command issued for this RequestID. */
export function correlate(issued: IssuedPreCommand | undefined, user: Eui, srv: string, signedPayload: Uint8Array): Correlated {
  const refuse = (reason: string): Correlated => ({ ok: false, code: 'E12', check: CORRELATION, reason });
  if (!issued) return refuse('no Pre-Command was issued for this RequestID');
  if (issued.user !== user) return refuse('the Pre-Command for this RequestID was issued to another User');
  if (issued.srv !== srv) return refuse(`the Pre-Command for this RequestID was issued for SRV ${issued.srv ?? '(not recorded: transform again)'}, not ${srv}`);
  if (issued.usedBy !== null) return refuse('this Pre-Command has already been used');
  const d = decodeGeneralSigning(signedPayload);
  if (!d.ok) return refuse(`the Signed Pre-Command does not decode: ${d.error.toString()}`);
  if (!d.value.signature) return refuse('the Signed Pre-Command carries no signature');
  const unsigned = encodeGeneralSigning({ ...d.value, signature: null });
  if (!unsigned.equals(issued.bytes)) return refuse('the Signed Pre-Command differs from the Pre-Command this DCC issued');
  return { ok: true, apdu: d.value };
}

/**
 * CV 5 must be authorised in the role the Pre-Command was issued to, for the same originator. A party in two roles
 * (a supplier that is also an SRP) could otherwise get a Pre-Command as SC (the failed supplier as originator) and
 * send it back as IS once a change of supplier lets it act in that role, past the SoLR content check (BR5).
 */
export function sameIssue(issued: KeptPreCommand, role: UserRole, originator: Eui): Refusal | null {
  const refuse = (reason: string): Refusal => ({ code: 'E12', check: CORRELATION, reason });
  if (issued.role === null || issued.originator === null) return refuse('the Pre-Command for this RequestID was kept without its User Role (not recorded: transform again)');
  if (issued.role !== role) return refuse(`the Pre-Command for this RequestID was issued to the ${issued.role} role, and this request is authorised as ${role}`);
  if (issued.originator !== originator) return refuse(`the Pre-Command for this RequestID names originator ${issued.originator}, and the device now trusts ${originator}`);
  return null;
}

/** What the content checks need besides the request: the end of the Authority's instruction that lets SC act. */
export interface ContentCheckOptions {
  /** null: the instruction is open-ended (or, as a seeded defect, none is checked). */
  instructionEnds?: Date | null;
  /** The DCC's time: a switch dated more than SC_EXECUTION_HORIZON_MS after it is refused. */
  now?: Date;
}

/**
 * How far ahead the SoLR Contingency role may date a switch to Credit. On the meter a new dated change replaces
 * the pending one, so a switch dated decades ahead cancels the pending change just as the refused 3000-12-31
 * sentinel would (and an open-ended instruction would bound nothing). 32 days leaves room for a switch at the
 * next calendar month's start in UK time (a billing or tariff boundary; 31 days and an hour away at most, when
 * the clocks go back), while a Bulb-sized failure is worked through within days.
 */
export const SC_EXECUTION_HORIZON_MS = 32 * 24 * 3600_000;

/** A refusal by the SoLR content check (BR5): E2, the code DUIS has for what the role may not send. */
function contentRefusal(reason: string): Refusal {
  return { code: 'E2', check: 'solr-content', reason };
}

/**
 * MP134B BR5/BR6 on when the switch happens: a cancellation (the 3000-12-31 sentinel) is not a switch to Credit,
 * and would drop whatever change is pending on the meter, whoever scheduled it; so would a switch dated far
 * ahead, which replaces the pending change (SC_EXECUTION_HORIZON_MS); a switch dated at or after the end of the
 * Authority's instruction would act when the role may no longer act.
 */
function executionRefusal(execution: Execution, options: ContentCheckOptions): Refusal | null {
  if (execution.kind === 'never') return contentRefusal('the SoLR Contingency role may only switch to Credit: cancelling a pending change is not allowed');
  if (execution.kind !== 'at') return null;
  const ends = options.instructionEnds;
  if (ends && execution.at >= ends) {
    return contentRefusal(`the switch to Credit is dated ${execution.at.toISOString()}, not before the Authority's instruction ends (${ends.toISOString()})`);
  }
  const latest = options.now && new Date(options.now.getTime() + SC_EXECUTION_HORIZON_MS);
  if (latest && execution.at > latest) {
    return contentRefusal(`the switch to Credit is dated ${execution.at.toISOString()}, more than ${SC_EXECUTION_HORIZON_MS / 86_400_000} days ahead (after ${latest.toISOString()}): it would replace the change pending on the meter as a cancellation would`);
  }
  return null;
}

/**
 * The SoLR content check of a Signed Pre-Command for `srv` (SMETS2+). SRV 1.6 must be a switch to Credit (BR5);
 * another SRV the DCC's configuration lets the role send (BR3) must be a use case of that SRV, the Pre-Command the
 * DCC issued for it (which correlation has compared it with byte for byte).
 */
export function scContentCheck(srv: string, apdu: GeneralSigning, options: ContentCheckOptions & { codeOnly?: boolean } = {}): Refusal | null {
  if (srv === '1.6') return solrContentCheck(apdu, options);
  const useCase = useCaseByCode(apdu.messageCode);
  if (useCase?.srv !== srv) return contentRefusal(`the Signed Pre-Command for SRV ${srv} carries message code ${formatMessageCode(apdu.messageCode)}${useCase ? ` (${useCase.name}, SRV ${useCase.srv})` : ''}, not a use case of SRV ${srv}`);
  return null;
}

/**
 * MP134B BR5 for SMETS2+: the Signed Pre-Command must be a switch to Credit. `codeOnly` is a seeded defect
 * (content check reading only the message code) for negative-control runs.
 */
export function solrContentCheck(apdu: GeneralSigning, options: ContentCheckOptions & { codeOnly?: boolean } = {}): Refusal | null {
  const credit = apdu.messageCode === PAYMENT_MODE_CODES.ECS02 || apdu.messageCode === PAYMENT_MODE_CODES.GCS02;
  if (!credit) return contentRefusal(`the SoLR Contingency role may only send ECS02/GCS02 (switch to Credit), got message code 0x${apdu.messageCode.toString(16).padStart(4, '0')}`);
  if (options.codeOnly) return null;
  const parsed = parsePaymentModeCommand(apdu);
  if (!parsed.ok) return contentRefusal(`the Signed Pre-Command is not a canonical switch to Credit: ${parsed.error.message}`);
  if (parsed.value.change.target.mode !== 'credit') return contentRefusal('the Signed Pre-Command does not switch to Credit');
  return executionRefusal(parsed.value.change.execution, options);
}

/**
 * MP134B BR5 for SMETS1: an SRV 1.6 Service Request itself must be UpdatePaymentMode to Credit. Another SRV the
 * role may send (BR3) is the DCC's to carry as it would any User's (the S1SP refuses what it cannot carry, E11).
 */
export function smets1ContentCheck(request: DuisRequest, options: ContentCheckOptions & { serviceOnly?: boolean } = {}): Refusal | null {
  if (request.header.serviceReferenceVariant !== '1.6') return null;
  const body = request.body;
  if (body.kind !== 'UpdatePaymentMode') return contentRefusal('the SoLR Contingency role may only send UpdatePaymentMode');
  if (options.serviceOnly) return null;
  if (body.paymentMode.mode !== 'Credit') return contentRefusal('the SoLR Contingency role may only switch a SMETS1 meter to Credit');
  let execution: Execution;
  try {
    execution = executionFromDuis(body.executionDateTime);
  } catch (e) {
    return contentRefusal((e as Error).message);
  }
  return executionRefusal(execution, options);
}
