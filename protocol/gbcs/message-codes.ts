/**
 * GBCS message codes (the first two octets of other-information) for the use cases this project models, with
 * the DUIS Service Reference Variant each implements and whether it is a Critical Command (User-signed).
 */
import { hex4 } from './bytes.ts';

export type DeviceFamily = 'esme' | 'gsme';

export interface UseCaseInfo {
  code: number;
  name: string;
  srv: string;
  family: DeviceFamily;
  critical: boolean;
  summary: string;
}

const USE_CASES: UseCaseInfo[] = [
  { code: 0x0019, name: 'ECS01a', srv: '1.1.1', family: 'esme', critical: true, summary: 'update import tariff (primary element)' },
  { code: 0x006b, name: 'GCS01a', srv: '1.1.1', family: 'gsme', critical: true, summary: 'update import tariff' },
  { code: 0x001c, name: 'ECS04a', srv: '1.5', family: 'esme', critical: true, summary: 'adjust meter balance' },
  { code: 0x00b3, name: 'ECS04b', srv: '1.5', family: 'esme', critical: true, summary: 'reset meter balance' },
  { code: 0x0086, name: 'GCS40a', srv: '1.5', family: 'gsme', critical: true, summary: 'adjust prepayment meter balance' },
  { code: 0x00b4, name: 'GCS40b', srv: '1.5', family: 'gsme', critical: true, summary: 'reset prepayment meter balance' },
  { code: 0x00c0, name: 'GCS40c', srv: '1.5', family: 'gsme', critical: true, summary: 'adjust credit-mode meter balance' },
  { code: 0x00c2, name: 'GCS40d', srv: '1.5', family: 'gsme', critical: true, summary: 'reset credit-mode meter balance' },
  { code: 0x001a, name: 'ECS02', srv: '1.6', family: 'esme', critical: true, summary: 'set payment mode to credit' },
  { code: 0x001b, name: 'ECS03', srv: '1.6', family: 'esme', critical: true, summary: 'set payment mode to prepayment' },
  { code: 0x006c, name: 'GCS02', srv: '1.6', family: 'gsme', critical: true, summary: 'set payment mode to credit' },
  { code: 0x006d, name: 'GCS03', srv: '1.6', family: 'gsme', critical: true, summary: 'set payment mode to prepayment' },
  { code: 0x001f, name: 'ECS08', srv: '2.1', family: 'esme', critical: true, summary: 'update prepayment configuration' },
  { code: 0x006f, name: 'GCS05', srv: '2.1', family: 'gsme', critical: true, summary: 'update prepayment configuration' },
  { code: 0x0007, name: 'CS01a', srv: '2.2', family: 'esme', critical: false, summary: 'top up (UTRN)' },
  { code: 0x0097, name: 'CS01b', srv: '2.2', family: 'gsme', critical: false, summary: 'top up (UTRN)' },
  { code: 0x001e, name: 'ECS07', srv: '2.3', family: 'esme', critical: true, summary: 'update debt' },
  { code: 0x006e, name: 'GCS04', srv: '2.3', family: 'gsme', critical: true, summary: 'update debt' },
  { code: 0x0020, name: 'ECS09', srv: '2.5', family: 'esme', critical: true, summary: 'activate emergency credit' },
  { code: 0x0070, name: 'GCS06', srv: '2.5', family: 'gsme', critical: true, summary: 'activate emergency credit' },
  { code: 0x0027, name: 'ECS17b', srv: '4.1.1', family: 'esme', critical: false, summary: 'read instantaneous import registers' },
  { code: 0x0074, name: 'GCS13a', srv: '4.1.1', family: 'gsme', critical: false, summary: 'read instantaneous import registers' },
  { code: 0x002d, name: 'ECS19', srv: '4.3', family: 'esme', critical: false, summary: 'read instantaneous prepay values' },
  { code: 0x0075, name: 'GCS14', srv: '4.3', family: 'gsme', critical: false, summary: 'read instantaneous prepay values' },
  { code: 0x004f, name: 'ECS42', srv: '7.1', family: 'esme', critical: true, summary: 'enable supply' },
  { code: 0x0050, name: 'ECS43', srv: '7.2', family: 'esme', critical: true, summary: 'disable supply' },
  { code: 0x0081, name: 'GCS32', srv: '7.2', family: 'gsme', critical: true, summary: 'disable supply (close valve)' },
  { code: 0x0051, name: 'ECS44', srv: '7.3', family: 'esme', critical: true, summary: 'arm supply' },
  { code: 0x0085, name: 'GCS39', srv: '7.3', family: 'gsme', critical: true, summary: 'arm supply' },
];

/** Alert message codes: not use cases of their own. */
export const AlertMessageCode = {
  /** Future-dated command executed (8F66), DLMS body, from an ESME. */
  futureDatedEsme: 0x00cc,
  /** Future-dated command executed (8F66), GBZ body, from a GSME. */
  futureDatedGsme: 0x00cd,
  genericCritical: 0x1000,
  genericNonCritical: 0x1001,
} as const;

export const AlertCode = {
  futureDatedExecuted: 0x8f66,
  /** Source does not have authority for command. */
  noAuthority: 0x8f30,
  /** Integrity check of content or format of command failed. */
  integrityFailed: 0x8f1e,
  /** Failed authentication or authorisation not covered by other codes. */
  authenticationFailed: 0x8f53,
  /** Unusual numbers of malformed, out-of-order or unexpected commands received. */
  unusualCommands: 0x8f60,
} as const;

const BY_CODE = new Map(USE_CASES.map((u) => [u.code, u]));
const BY_NAME = new Map(USE_CASES.map((u) => [u.name, u]));

export function useCaseByCode(code: number): UseCaseInfo | undefined {
  return BY_CODE.get(code);
}

export function useCaseByName(name: string): UseCaseInfo | undefined {
  return BY_NAME.get(name);
}

export function useCasesForSrv(srv: string): UseCaseInfo[] {
  return USE_CASES.filter((u) => u.srv === srv);
}

export function allUseCases(): readonly UseCaseInfo[] {
  return USE_CASES;
}

/** "0x001A" */
export function formatMessageCode(code: number): string {
  return `0x${hex4(code)}`;
}
