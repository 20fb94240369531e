/**
 * The DCC's access control, in the order DUIS applies it, each check with its response code:
 * User and Role (E1) -> Role eligible for the SRV (E2) -> User status (E3) -> device known (E19) -> Role
 * authorised for this device at this time (E4) -> device status (E5) -> SRV / device type (E11) ->
 * Command Variant (E12, E17 for local delivery) -> URL (E13).
 *
 * Checks are named so a test build can switch one off (seeded defects): the MP134B PIT pack must then fail.
 */
import type { DuisRequest, ResponseCode } from '../../protocol/duis/index.ts';
import type { UserRole } from '../../protocol/smki/roles.ts';
import type { AnomalyDetection } from '../anomaly.ts';
import type { DeviceRecord, Party, Registry } from '../registry.ts';
import type { SolrEvents } from '../solr.ts';
import type { EligibilityTable, SrvEligibility } from './srv-matrix.ts';

export type UrlKind = 'transform' | 'send' | 'non-device';

export const ACCESS_CHECKS = [
  'user',
  'eligibility',
  'user-status',
  /** BR6: the SC role needs an Authority instruction in force (part of user-status and device-authorisation). */
  'solr-event',
  /** BR4: the SC role needs an ADT file naming the device's supplier (part of device-authorisation). */
  'adt-scope',
  'device-known',
  'device-authorisation',
  'device-status',
  'device-type',
  'command-variant',
  'url',
] as const;
export type AccessCheck = (typeof ACCESS_CHECKS)[number];

export interface Refusal {
  code: ResponseCode;
  check: string;
  reason: string;
}

export type AccessDecision =
  | { ok: true; party: Party; role: UserRole; device: DeviceRecord | null; srv: SrvEligibility }
  | ({ ok: false; party?: Party; role?: UserRole } & Refusal);

export interface AccessDependencies {
  registry: Registry;
  eligibility: EligibilityTable;
  solr: SolrEvents;
  anomaly: AnomalyDetection;
  /** SRVs each kind of device supports (what the emulated or real meters implement). */
  supportedSrvs: (device: DeviceRecord) => ReadonlySet<string>;
  /** Checks switched off (test builds only). */
  disabled: ReadonlySet<string>;
}

const SUPPLIER_OF: Record<string, (d: DeviceRecord) => boolean> = {
  IS: (d) => d.type === 'ESME' || (d.type === 'SMETS1' && d.fuel === 'electricity'),
  GS: (d) => d.type === 'GSME' || (d.type === 'SMETS1' && d.fuel === 'gas'),
};

/**
 * Why `role` may act on `device` now, or why not. [model] Suppliers act on devices registered to them, network
 * operators on devices they operate; ES, OU and RSA hold no device relationships in this emulator. The SoLR
 * Contingency role needs an Authority instruction in force naming it for the device's (failed) supplier (BR6)
 * and an ADT file from its officers naming that supplier for this SRV (BR4).
 */
function deviceAuthorisation(deps: AccessDependencies, party: Party, role: UserRole, device: DeviceRecord, srv: string, now: Date): string | null {
  const on = (check: AccessCheck) => !deps.disabled.has(check);
  switch (role) {
    case 'IS':
    case 'GS':
      if (!SUPPLIER_OF[role]!(device)) return `a ${role} does not supply a ${device.type === 'SMETS1' ? `SMETS1 ${device.fuel}` : device.type} meter`;
      return device.supplier === party.eui ? null : `device is registered to supplier ${device.supplier}`;
    case 'ED':
    case 'GT': {
      const fuel = device.type === 'GSME' || (device.type === 'SMETS1' && device.fuel === 'gas') ? 'GT' : 'ED';
      if (fuel !== role) return `a ${role} does not operate this ${device.type} network`;
      return device.networkOperator === party.eui ? null : `device's network operator is ${device.networkOperator ?? 'not registered'}`;
    }
    case 'SC': {
      const event = deps.solr.authorising(party.eui, device.supplier, device.eui, now);
      if (!event && on('solr-event')) return `no Authority SoLR instruction in force lets ${party.eui} act for supplier ${device.supplier} on this device`;
      if (on('adt-scope') && !deps.anomaly.covers(party.eui, srv, device.supplier)) return `no ADT file from ${party.eui}'s officers names supplier ${device.supplier} for SRV ${srv} (BR4)`;
      return null;
    }
    default:
      return `${role} holds no relationship with devices in this emulator`;
  }
}

const LOCAL_DELIVERY = new Set([2, 3, 6, 7]);

export function checkAccess(deps: AccessDependencies, request: DuisRequest, url: UrlKind, now: Date): AccessDecision {
  const on = (check: AccessCheck) => !deps.disabled.has(check);
  const { header } = request;
  const srvCode = header.serviceReferenceVariant;
  const party = deps.registry.party(header.requestId.user);
  if (!party || party.roles.length === 0) {
    return { ok: false, code: 'E1', check: 'user', reason: `${header.requestId.user} is not a registered User` };
  }
  const srv = deps.eligibility.get(srvCode);
  if (!srv) return { ok: false, party, code: 'E2', check: 'eligibility', reason: `SRV ${srvCode} is not in the eligibility table` };
  let roles = party.roles.filter((r) => srv.roles.includes(r));
  if (roles.length === 0) {
    if (on('eligibility')) return { ok: false, party, code: 'E2', check: 'eligibility', reason: `roles ${party.roles.join(',')} may not send SRV ${srvCode} (eligible: ${srv.roles.join(',') || 'none'})` };
    roles = [...party.roles];
  }
  if (on('user-status')) {
    if (party.status !== 'active') return { ok: false, party, code: 'E3', check: 'user-status', reason: `User status is ${party.status}` };
    if (deps.solr.hasFailed(party.eui, now)) return { ok: false, party, code: 'E3', check: 'user-status', reason: 'the Authority has declared this supplier failed' };
    const acting = roles.filter((r) => r !== 'SC' || !on('solr-event') || deps.solr.activeFor(party.eui, now).length > 0);
    if (acting.length === 0) {
      return { ok: false, party, role: 'SC', code: 'E3', check: 'user-status', reason: 'the SoLR Contingency role may act only during an Authority-instructed supplier failure (BR6)' };
    }
    roles = acting;
  }
  if (srv.nonDevice) {
    return commandVariantAndUrl(deps, request, url, party, roles[0]!, null, srv);
  }
  const device = deps.registry.device(header.requestId.target);
  if (!device) {
    return { ok: false, party, code: 'E19', check: 'device-known', reason: `device ${header.requestId.target} is unknown` };
  }
  let role: UserRole | undefined;
  const reasons: string[] = [];
  for (const r of roles) {
    const why = deviceAuthorisation(deps, party, r, device, srv.srv, now);
    if (why === null) {
      role = r;
      break;
    }
    reasons.push(`${r}: ${why}`);
  }
  if (!role) {
    if (on('device-authorisation')) return { ok: false, party, code: 'E4', check: 'device-authorisation', reason: reasons.join('; ') };
    role = roles[0]!;
  }
  if (on('device-status') && device.smiStatus !== 'commissioned') {
    return { ok: false, party, role, code: 'E5', check: 'device-status', reason: `device SMI status is ${device.smiStatus}` };
  }
  if (on('device-type') && !deps.supportedSrvs(device).has(srv.srv)) {
    return { ok: false, party, role, code: 'E11', check: 'device-type', reason: `SRV ${srv.srv} does not apply to this ${describeDevice(device)}` };
  }
  return commandVariantAndUrl(deps, request, url, party, role, device, srv);
}

export function describeDevice(d: DeviceRecord): string {
  if (d.type === 'SMETS1') return `SMETS1 ${d.fuel} meter`;
  return d.type === 'ESME' && d.twin ? 'twin-element ESME' : d.type;
}

function commandVariantAndUrl(deps: AccessDependencies, request: DuisRequest, url: UrlKind, party: Party, role: UserRole, device: DeviceRecord | null, srv: SrvEligibility): AccessDecision {
  const on = (check: AccessCheck) => !deps.disabled.has(check);
  const cv = request.header.commandVariant;
  if (on('command-variant')) {
    const refuse = (reason: string, code: ResponseCode = 'E12'): AccessDecision => ({ ok: false, party, role, code, check: 'command-variant', reason });
    if (srv.nonDevice) {
      if (cv !== 8) return refuse(`non-device SRV ${srv.srv} needs Command Variant 8, got ${cv}`);
    } else if (cv === 8) {
      return refuse(`Command Variant 8 is for non-device requests; SRV ${srv.srv} addresses a device`);
    } else if (LOCAL_DELIVERY.has(cv)) {
      return refuse(`Command Variant ${cv} (local delivery) is not offered by this DCC`, 'E17');
    } else if (device?.type === 'SMETS1') {
      if (cv !== 1) return refuse(`a SMETS1 device takes SRV ${srv.srv} as Command Variant 1 (the DCC checks it and hands it to the S1SP), got ${cv}`);
    } else if (srv.critical) {
      if (cv !== 4 && cv !== 5) return refuse(`critical SRV ${srv.srv} on a SMETS2+ device needs Command Variant 4 then 5, got ${cv}`);
    } else if (cv !== 1) {
      return refuse(`non-critical SRV ${srv.srv} needs Command Variant 1, got ${cv}`);
    }
  }
  if (on('url')) {
    const expected: Record<UrlKind, readonly number[]> = { transform: [4], send: [1, 5], 'non-device': [8] };
    if (!expected[url].includes(cv)) {
      return { ok: false, party, role, code: 'E13', check: 'url', reason: `Command Variant ${cv} is not accepted by the ${url} service` };
    }
  }
  return { ok: true, party, role, device, srv };
}
