/**
 * SRV 1.6 Update Payment Mode: the GBCS use cases ECS02 / ECS03 (ESME, DLMS) and GCS02 / GCS03 (GSME, GBZ).
 *
 * Builders follow the rules the DCC applies when it transforms a DUIS request (verified against the DCC's
 * reference test data); parsers accept only content that those rules would produce for some model, so a
 * payload that parses is exactly the payload its model describes. That strictness is what lets the mock DCC
 * and the meters decide "this is a switch to Credit" from the bytes rather than from the message code alone.
 */
import { type Eui } from '../../smki/eui.ts';
import { type GeneralSigning } from '../apdu.ts';
import { ByteReader, ByteWriter, hex4 } from '../bytes.ts';
import { type Execution, decodeDlmsExecution, decodeZigbeeExecution, encodeDlmsExecution, encodeZigbeeExecution } from '../datetime.ts';
import { type AccessRequest, type DlmsData, D, gbcsInvokeId, readAccessRequest, writeAccessRequest } from '../dlms.ts';
import { type Decoded, decodeResult, fail } from '../errors.ts';
import { GbzControl, readGbz, writeGbz, ZclFrameControl } from '../gbz.ts';

export type PaymentMode = 'credit' | 'prepayment';
/** ESME with one or two tariff elements, or GSME: decides the use case family and the ESME entry tables. */
export type MeterVariant = 'esme' | 'esme-twin' | 'gsme';
export type PaymentModeUseCase = 'ECS02' | 'ECS03' | 'GCS02' | 'GCS03';

export interface PrepaymentSettings {
  suspendDebtDisabled: boolean;
  suspendDebtEmergency: boolean;
  /** Meter balance at which supply is disabled (DUIS xs:int, unscaled). */
  disablementThreshold: number;
}

export type PaymentModeTarget = { mode: 'credit' } | ({ mode: 'prepayment' } & PrepaymentSettings);

export interface PaymentModeChange {
  target: PaymentModeTarget;
  execution: Execution;
}

export const PAYMENT_MODE_CODES: Record<PaymentModeUseCase, number> = { ECS02: 0x001a, ECS03: 0x001b, GCS02: 0x006c, GCS03: 0x006d };

export function paymentModeUseCase(variant: MeterVariant, mode: PaymentMode): PaymentModeUseCase {
  if (variant === 'gsme') return mode === 'credit' ? 'GCS02' : 'GCS03';
  return mode === 'credit' ? 'ECS02' : 'ECS03';
}

export function paymentModeUseCaseByCode(code: number): PaymentModeUseCase | undefined {
  return (Object.keys(PAYMENT_MODE_CODES) as PaymentModeUseCase[]).find((k) => PAYMENT_MODE_CODES[k] === code);
}

// ---------------------------------------------------------------- ESME (DLMS)

const CLASS_ACCOUNT = 0x006f;
const CLASS_GBCS_EXTENDED_DATA = 0x2328; // GBCS class 9000
/** 0-1:19.0.0.255, the passive Account: activation copies it into the active Account. */
export const PASSIVE_ACCOUNT = '0001130000FF';
/** 0-0:94.44.128.22, Disablement Threshold (meter balance). */
export const DISABLEMENT_THRESHOLD = '00005E2C8016';

const ATTR_ACCOUNT_MODE = 2;
const ATTR_CREDIT_CHARGE_CONFIGURATION = 11;
const ATTR_ACCOUNT_ACTIVATION_TIME = 13;
const ATTR_THRESHOLD_PASSIVE = 4;
const ATTR_THRESHOLD_ACTIVATION_TIME = 6;
/** account_status 1: a new (not yet active) account, as every passive Account write carries. */
const ACCOUNT_STATUS_NEW = 1;

/** Credit registers 0-0:19.10.x.255 and charges 0-0:19.20.x.255, by their x. */
const credit = (x: number) => `0000130A0${x}FF`;
const charge = (x: number) => `000013140${x}FF`;
const COLLECT_ALWAYS = 0xe0;
const COLLECT_NOT_WHEN_DISABLED = 0xc0;

type CreditChargeEntry = [creditRef: number, chargeRef: number, collection: number];

/**
 * credit_charge_configuration entries, in wire order. Credits: 0 meter balance, 1 emergency credit,
 * 2 accumulated debt register. Charges: 0 tariff, 1 and 2 time-based debts, 3 payment-based debt,
 * 4 standing charge, 5 the secondary element's tariff.
 */
function creditChargeEntries(variant: 'esme' | 'esme-twin', target: PaymentModeTarget): CreditChargeEntry[] {
  const twin = variant === 'esme-twin';
  if (target.mode === 'credit') {
    const entries: CreditChargeEntry[] = [
      [0, 0, COLLECT_ALWAYS],
      [0, 4, COLLECT_ALWAYS],
    ];
    if (twin) entries.push([0, 5, COLLECT_ALWAYS]);
    return entries;
  }
  // SuspendDebtDisabled: time-based debts are not collected while supply is disabled.
  const timeDebt = target.suspendDebtDisabled ? COLLECT_NOT_WHEN_DISABLED : COLLECT_ALWAYS;
  const entries: CreditChargeEntry[] = [
    [0, 0, COLLECT_ALWAYS],
    [0, 4, COLLECT_ALWAYS],
    [0, 1, timeDebt],
    [0, 2, timeDebt],
    [0, 3, COLLECT_ALWAYS],
    [1, 3, COLLECT_ALWAYS],
    [1, 0, COLLECT_ALWAYS],
    [1, 4, COLLECT_ALWAYS],
    [1, 1, timeDebt],
    [1, 2, timeDebt],
  ];
  // SuspendDebtEmergency: charges may accumulate as debt while on emergency credit.
  if (target.suspendDebtEmergency) entries.push([2, 4, COLLECT_ALWAYS], [2, 1, COLLECT_ALWAYS], [2, 2, COLLECT_ALWAYS]);
  if (twin) entries.push([0, 5, COLLECT_ALWAYS], [1, 5, COLLECT_ALWAYS]);
  return entries;
}

function creditChargeData(entries: CreditChargeEntry[]): DlmsData {
  return D.array(
    entries.map(([c, ch, bits]) => D.structure(D.octets(Buffer.from(credit(c), 'hex')), D.octets(Buffer.from(charge(ch), 'hex')), D.bits(3, Uint8Array.of(bits)))),
  );
}

function esmeRequest(variant: 'esme' | 'esme-twin', change: PaymentModeChange, counter: bigint): AccessRequest {
  const at = D.octets(encodeDlmsExecution(change.execution));
  const account = (index: number) => ({ kind: 'set' as const, target: { classId: CLASS_ACCOUNT, instance: PASSIVE_ACCOUNT, index } });
  const threshold = (index: number) => ({ kind: 'set' as const, target: { classId: CLASS_GBCS_EXTENDED_DATA, instance: DISABLEMENT_THRESHOLD, index } });
  const mode = D.structure(D.enum(change.target.mode === 'credit' ? 1 : 2), D.enum(ACCOUNT_STATUS_NEW));
  const config = creditChargeData(creditChargeEntries(variant, change.target));
  const invokeId = gbcsInvokeId(counter);
  if (change.target.mode === 'credit') {
    return {
      invokeId,
      specs: [account(ATTR_ACCOUNT_MODE), account(ATTR_CREDIT_CHARGE_CONFIGURATION), account(ATTR_ACCOUNT_ACTIVATION_TIME)],
      data: [mode, config, at],
    };
  }
  return {
    invokeId,
    specs: [
      account(ATTR_ACCOUNT_MODE),
      threshold(ATTR_THRESHOLD_PASSIVE),
      account(ATTR_CREDIT_CHARGE_CONFIGURATION),
      threshold(ATTR_THRESHOLD_ACTIVATION_TIME),
      account(ATTR_ACCOUNT_ACTIVATION_TIME),
    ],
    data: [mode, D.doubleLong(change.target.disablementThreshold), config, at, at],
  };
}

// ---------------------------------------------------------------- GSME (GBZ / ZCL Prepayment cluster)

export const CLUSTER_PREPAYMENT = 0x0705;
export const CMD_CHANGE_PAYMENT_MODE = 0x06;
export const CMD_CHANGE_PAYMENT_MODE_RESPONSE = 0x02;
/** Proposed Payment Control Configuration for credit mode. */
const PCC_CREDIT = 0x0c94;
/** Prepayment base; +0x0400 when debt is suspended while disabled, +0x0800 when not suspended on emergency. */
const PCC_PREPAYMENT = 0x0097;
const PCC_DEBT_SUSPENDED_WHEN_DISABLED = 0x0400;
const PCC_DEBT_NOT_SUSPENDED_ON_EMERGENCY = 0x0800;
const CUT_OFF_UNUSED = -1;

function gsmePaymentControl(target: PaymentModeTarget): { config: number; cutOff: number } {
  if (target.mode === 'credit') return { config: PCC_CREDIT, cutOff: CUT_OFF_UNUSED };
  let config = PCC_PREPAYMENT;
  if (target.suspendDebtDisabled) config |= PCC_DEBT_SUSPENDED_WHEN_DISABLED;
  if (!target.suspendDebtEmergency) config |= PCC_DEBT_NOT_SUSPENDED_ON_EMERGENCY;
  return { config, cutOff: target.disablementThreshold };
}

function gsmeContent(change: PaymentModeChange, issuerEventId: number): Buffer {
  const { config, cutOff } = gsmePaymentControl(change.target);
  const payload = new ByteWriter()
    .u32le(0) // provider id
    .u32le(issuerEventId)
    .u32le(encodeZigbeeExecution(change.execution))
    .u16le(config)
    .u32le(cutOff >>> 0)
    .finish();
  const w = new ByteWriter();
  writeGbz(w, {
    components: [
      {
        control: 0x01,
        clusterId: CLUSTER_PREPAYMENT,
        frame: { frameControl: ZclFrameControl.clientToServer, sequence: 0, commandId: CMD_CHANGE_PAYMENT_MODE, payload },
      },
    ],
  });
  return w.finish();
}

// ---------------------------------------------------------------- building

export interface PaymentModeCommandSpec {
  variant: MeterVariant;
  change: PaymentModeChange;
  /** The DUIS RequestID counter: the GBCS originator counter. */
  counter: bigint;
  originator: Eui;
  recipient: Eui;
  /**
   * GSME only: the ZCL Issuer Event ID, the transforming DCC's current time as ZigBee UTCTime (seconds since
   * 2000). The DCC's reference data was produced with its clock at 2015-01-01T00:00:00Z (0x1C374A80).
   */
  issuerEventId?: number;
}

/** The RTDS reference clock, 2015-01-01T00:00:00Z, as ZigBee UTCTime. */
export const RTDS_ISSUER_EVENT_ID = 0x1c374a80;

export function buildPaymentModeContent(spec: Omit<PaymentModeCommandSpec, 'originator' | 'recipient'>): { useCase: PaymentModeUseCase; messageCode: number; content: Buffer } {
  const { variant, change } = spec;
  if (change.target.mode === 'prepayment') {
    const t = change.target.disablementThreshold;
    if (!Number.isInteger(t) || t < -0x80000000 || t > 0x7fffffff) throw new RangeError(`DisablementThreshold ${t} is not a 32-bit integer`);
  }
  const useCase = paymentModeUseCase(variant, change.target.mode);
  let content: Buffer;
  if (variant === 'gsme') {
    content = gsmeContent(change, spec.issuerEventId ?? RTDS_ISSUER_EVENT_ID);
  } else {
    const w = new ByteWriter();
    writeAccessRequest(w, esmeRequest(variant, change, spec.counter));
    content = w.finish();
  }
  return { useCase, messageCode: PAYMENT_MODE_CODES[useCase], content };
}

/** The unsigned Pre-Command the DCC returns for a SRV 1.6 request (CommandVariant 4). */
export function buildPaymentModePreCommand(spec: PaymentModeCommandSpec): GeneralSigning {
  const { messageCode, content } = buildPaymentModeContent(spec);
  return {
    cra: 'command',
    counter: spec.counter,
    originator: spec.originator,
    recipient: spec.recipient,
    dateTime: null,
    messageCode,
    supplementary: new Uint8Array(0),
    content,
    signature: null,
  };
}

// ---------------------------------------------------------------- parsing

export interface ParsedPaymentModeCommand {
  useCase: PaymentModeUseCase;
  variant: MeterVariant;
  change: PaymentModeChange;
  /** GSME only. */
  issuerEventId?: number;
}

function findSet(req: AccessRequest, classId: number, instance: string, index: number): DlmsData | undefined {
  const i = req.specs.findIndex((s) => s.kind === 'set' && s.target.classId === classId && s.target.instance === instance && s.target.index === index);
  return i < 0 ? undefined : req.data[i];
}

function interpretEsme(req: AccessRequest, useCase: 'ECS02' | 'ECS03'): { variant: 'esme' | 'esme-twin'; change: PaymentModeChange } {
  const config = findSet(req, CLASS_ACCOUNT, PASSIVE_ACCOUNT, ATTR_CREDIT_CHARGE_CONFIGURATION);
  const at = findSet(req, CLASS_ACCOUNT, PASSIVE_ACCOUNT, ATTR_ACCOUNT_ACTIVATION_TIME);
  if (config?.type !== 'array') return fail('bad-value', `${useCase}: no credit_charge_configuration array`, 0);
  if (at?.type !== 'octet-string') return fail('bad-value', `${useCase}: no account activation time`, 0);
  const execution = decodeDlmsExecution(at.value, 0);
  const entries = config.items.map((item) => {
    if (item.type !== 'structure' || item.items.length !== 3) return null;
    const [c, ch, bits] = item.items;
    if (c?.type !== 'octet-string' || ch?.type !== 'octet-string' || bits?.type !== 'bit-string') return null;
    return { credit: Buffer.from(c.value).toString('hex').toUpperCase(), charge: Buffer.from(ch.value).toString('hex').toUpperCase(), bits: bits.bytes[0] };
  });
  const twin = entries.some((e) => e?.charge === charge(5));
  const variant = twin ? 'esme-twin' : 'esme';
  if (useCase === 'ECS02') return { variant, change: { target: { mode: 'credit' }, execution } };
  const threshold = findSet(req, CLASS_GBCS_EXTENDED_DATA, DISABLEMENT_THRESHOLD, ATTR_THRESHOLD_PASSIVE);
  if (threshold?.type !== 'double-long') return fail('bad-value', 'ECS03: no disablement threshold', 0);
  const suspendDebtDisabled = entries.some((e) => e?.charge === charge(1) && e.bits === COLLECT_NOT_WHEN_DISABLED);
  const suspendDebtEmergency = entries.some((e) => e?.credit === credit(2));
  return { variant, change: { target: { mode: 'prepayment', suspendDebtDisabled, suspendDebtEmergency, disablementThreshold: threshold.value }, execution } };
}

function interpretGsme(content: Uint8Array, useCase: 'GCS02' | 'GCS03'): { change: PaymentModeChange; issuerEventId: number } {
  const r = new ByteReader(content);
  const gbz = readGbz(r);
  r.expectEnd('GBZ payload');
  const c = gbz.components[0];
  if (gbz.components.length !== 1 || !c) return fail('bad-value', `${useCase}: expected one GBZ component`, 0);
  // One plain component: no From Date Time, nothing encrypted (a Command's payload is the meter's to read).
  if (c.control !== GbzControl.last) return fail('bad-value', `${useCase}: extended header control 0x${c.control.toString(16).padStart(2, '0')} (one plain component is 0x01)`, 3);
  if (c.clusterId !== CLUSTER_PREPAYMENT || c.frame.commandId !== CMD_CHANGE_PAYMENT_MODE) {
    return fail('bad-value', `${useCase}: expected Prepayment cluster Change Payment Mode, got cluster 0x${hex4(c.clusterId)} command ${c.frame.commandId}`, 3);
  }
  const p = new ByteReader(c.frame.payload);
  p.u32le('provider id');
  const issuerEventId = p.u32le('issuer event id');
  const execution = decodeZigbeeExecution(p.u32le('implementation date/time'));
  const config = p.u16le('proposed payment control configuration');
  const cutOff = p.u32le('cut off value') | 0;
  p.expectEnd('Change Payment Mode payload');
  if (useCase === 'GCS02') {
    if (config !== PCC_CREDIT) fail('bad-value', `GCS02 with payment control configuration 0x${hex4(config)} (credit is 0x0C94)`, 0);
    return { change: { target: { mode: 'credit' }, execution }, issuerEventId };
  }
  return {
    change: {
      target: {
        mode: 'prepayment',
        suspendDebtDisabled: (config & PCC_DEBT_SUSPENDED_WHEN_DISABLED) !== 0,
        suspendDebtEmergency: (config & PCC_DEBT_NOT_SUSPENDED_ON_EMERGENCY) === 0,
        disablementThreshold: cutOff,
      },
      execution,
    },
    issuerEventId,
  };
}

/**
 * Reads a payment-mode command (Pre-Command or signed) into its model. The content must be byte-identical to
 * what the builder makes for that model, or it is refused: nothing outside the model can slip through.
 */
export function parsePaymentModeCommand(apdu: Pick<GeneralSigning, 'messageCode' | 'content' | 'counter'>): Decoded<ParsedPaymentModeCommand> {
  return decodeResult(() => {
    const useCase = paymentModeUseCaseByCode(apdu.messageCode);
    if (!useCase) return fail('bad-value', `message code 0x${hex4(apdu.messageCode)} is not a payment-mode use case`, 0);
    let parsed: ParsedPaymentModeCommand;
    if (useCase === 'GCS02' || useCase === 'GCS03') {
      const g = interpretGsme(apdu.content, useCase);
      parsed = { useCase, variant: 'gsme', change: g.change, issuerEventId: g.issuerEventId };
    } else {
      const r = new ByteReader(apdu.content);
      const req = readAccessRequest(r);
      r.expectEnd('ACCESS.request');
      parsed = { useCase, ...interpretEsme(req, useCase) };
    }
    const rebuilt = buildPaymentModeContent({ variant: parsed.variant, change: parsed.change, counter: apdu.counter, ...(parsed.issuerEventId === undefined ? {} : { issuerEventId: parsed.issuerEventId }) });
    if (rebuilt.useCase !== useCase || !rebuilt.content.equals(apdu.content)) {
      fail('bad-value', `${useCase} content differs from the canonical payload for what it describes`, 0);
    }
    return parsed;
  });
}

// ---------------------------------------------------------------- GSME response

/** What a GSME reports on accepting Change Payment Mode: its current friendly- and emergency-credit settings. */
export interface ChangePaymentModeResponse {
  friendlyCredit: boolean;
  friendlyCreditCalendarId: number;
  emergencyCreditLimit: number;
  emergencyCreditThreshold: number;
}

export function encodeChangePaymentModeResponse(r: ChangePaymentModeResponse): Buffer {
  return new ByteWriter()
    .u8(r.friendlyCredit ? 1 : 0)
    .u32le(r.friendlyCreditCalendarId)
    .u32le(r.emergencyCreditLimit)
    .u32le(r.emergencyCreditThreshold)
    .finish();
}

export function decodeChangePaymentModeResponse(payload: Uint8Array): Decoded<ChangePaymentModeResponse> {
  return decodeResult(() => {
    const r = new ByteReader(payload);
    const out = {
      friendlyCredit: (r.u8('friendly credit') & 1) === 1,
      friendlyCreditCalendarId: r.u32le('friendly credit calendar id'),
      emergencyCreditLimit: r.u32le('emergency credit limit'),
      emergencyCreditThreshold: r.u32le('emergency credit threshold'),
    };
    r.expectEnd('Change Payment Mode Response');
    return out;
  });
}
