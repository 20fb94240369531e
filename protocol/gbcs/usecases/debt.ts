/**
 * SRV 2.3 Update Debt: adjust the three debt registers and set how debt is recovered.
 * - ECS07 (ESME): SETs on the Charge objects (class 113) 0-0:19.20.1.255 and 19.20.2.255 (time-based debts 1
 *   and 2: unit_charge_passive = recovery rate, period), 19.20.3.255 (payment-based debt: proportion per
 *   payment), then ACTIONs activate_passive_unit_charge (method 2) on the time-based debts and
 *   update_total_amount_remaining (method 4) on all three, which adds the DUIS amount to the register.
 * - GCS04 (GSME): three Change Debt commands (Prepayment cluster 0x0705, command 0x02): time-based debts 1 and
 *   2 and the payment-based debt 3, each an incremental amount with its recovery rate.
 */
import { ByteWriter } from '../bytes.ts';
import { type DlmsData } from '../dlms.ts';
import { fail } from '../errors.ts';
import { CLUSTER_PREPAYMENT } from './payment-mode.ts';
import {
  asDoubleLong,
  asDoubleLongUnsigned,
  asLongUnsigned,
  asArray,
  asStructure,
  checkInt16,
  checkInt32,
  checkUint,
  DEFAULT_ISSUER_EVENT_ID,
  decodeRequest,
  encodeRequest,
  int,
  invokeIdFor,
  long,
  parseByRebuilding,
  specData,
  type UseCaseCodec,
} from './command-codec.ts';
import { command, readComponents, readPayload, writeComponents } from './gbz-components.ts';

export type RecoveryPeriod = 'hourly' | 'daily' | 'weekly';
const PERIOD_SECONDS: Record<RecoveryPeriod, number> = { hourly: 3600, daily: 86400, weekly: 604800 };
/** ZSE Debt Recovery Frequency. */
const PERIOD_FREQUENCY: Record<RecoveryPeriod, number> = { hourly: 0, daily: 1, weekly: 2 };

function periodFromSeconds(s: number): RecoveryPeriod {
  const p = (Object.keys(PERIOD_SECONDS) as RecoveryPeriod[]).find((k) => PERIOD_SECONDS[k] === s);
  return p ?? fail('bad-value', `debt recovery period of ${s} s is not hourly, daily or weekly`, 0);
}

function periodFromFrequency(f: number): RecoveryPeriod {
  const p = (Object.keys(PERIOD_FREQUENCY) as RecoveryPeriod[]).find((k) => PERIOD_FREQUENCY[k] === f);
  return p ?? fail('bad-value', `debt recovery frequency ${f} is not hourly, daily or weekly`, 0);
}

export interface EsmeTimeDebtRecovery {
  /** Amount recovered per period (DLMS long). */
  rate: number;
  /** Price scale (power of ten) of the rate. */
  priceScale: number;
  period: RecoveryPeriod;
}

export interface EsmeUpdateDebt {
  /** Signed amounts added to each register. */
  timeDebtRegister1: number;
  timeDebtRegister2: number;
  paymentDebtRegister: number;
  /** Proportion of each payment that recovers the payment-based debt. */
  debtRecoveryPerPayment: number;
  recovery1: EsmeTimeDebtRecovery;
  recovery2: EsmeTimeDebtRecovery;
}

const CLASS_CHARGE = 0x0071;
const chargeObj = (x: number) => `000013140${x}FF`;
const ATTR_UNIT_CHARGE_PASSIVE = 6;
const ATTR_PERIOD = 8;
const ATTR_PROPORTION = 13;
const METHOD_ACTIVATE_PASSIVE = 2;
const METHOD_UPDATE_TOTAL = 4;

/** unit_charge: {scaler-unit {commodity scale 0, price scale}, commodity reference (none), [{index "", charge}]}. */
function unitCharge(r: EsmeTimeDebtRecovery): DlmsData {
  return {
    type: 'structure',
    items: [
      { type: 'structure', items: [int(0), int(r.priceScale)] },
      { type: 'structure', items: [{ type: 'long-unsigned', value: 0 }, { type: 'octet-string', value: new Uint8Array(6) }, int(0)] },
      { type: 'array', items: [{ type: 'structure', items: [{ type: 'octet-string', value: new Uint8Array(0) }, long(r.rate)] }] },
    ],
  };
}

function readUnitCharge(d: DlmsData, what: string): { rate: number; priceScale: number } {
  const [scaler, , charges] = asStructure(d, what, 3);
  const [, priceScale] = asStructure(scaler!, `${what} scaler`, 2);
  const [entry] = asArray(charges!, `${what} charges`);
  if (!entry || priceScale?.type !== 'integer') return fail('bad-value', `${what}: no charge`, 0);
  const [, rate] = asStructure(entry, `${what} charge`, 2);
  if (rate?.type !== 'long') return fail('bad-value', `${what}: charge must be a long`, 0);
  return { rate: rate.value, priceScale: priceScale.value };
}

export const ECS07: UseCaseCodec<EsmeUpdateDebt> = {
  name: 'ECS07',
  code: 0x001e,
  srv: '2.3',
  family: 'esme',
  critical: true,
  responseDateTime: false,
  build(p, ctx) {
    for (const [v, w] of [[p.timeDebtRegister1, 'TimeDebtRegister1'], [p.timeDebtRegister2, 'TimeDebtRegister2'], [p.paymentDebtRegister, 'PaymentDebtRegister']] as const) checkInt32(v, w);
    checkUint(p.debtRecoveryPerPayment, 16, 'DebtRecoveryPerPayment');
    for (const r of [p.recovery1, p.recovery2]) {
      checkInt16(r.rate, 'DebtRecoveryRate');
      if (!Number.isInteger(r.priceScale) || r.priceScale < -128 || r.priceScale > 127) throw new RangeError('DebtRecoveryRatePriceScale is an 8-bit integer');
    }
    const set = (x: number, index: number) => ({ kind: 'set' as const, target: { classId: CLASS_CHARGE, instance: chargeObj(x), index } });
    const act = (x: number, index: number) => ({ kind: 'action' as const, target: { classId: CLASS_CHARGE, instance: chargeObj(x), index } });
    return encodeRequest({
      invokeId: invokeIdFor(ctx.counter),
      specs: [
        set(1, ATTR_UNIT_CHARGE_PASSIVE),
        set(2, ATTR_UNIT_CHARGE_PASSIVE),
        set(3, ATTR_PROPORTION),
        set(1, ATTR_PERIOD),
        set(2, ATTR_PERIOD),
        act(1, METHOD_ACTIVATE_PASSIVE),
        act(2, METHOD_ACTIVATE_PASSIVE),
        act(3, METHOD_UPDATE_TOTAL),
        act(1, METHOD_UPDATE_TOTAL),
        act(2, METHOD_UPDATE_TOTAL),
      ],
      data: [
        unitCharge(p.recovery1),
        unitCharge(p.recovery2),
        { type: 'long-unsigned', value: p.debtRecoveryPerPayment },
        { type: 'double-long-unsigned', value: PERIOD_SECONDS[p.recovery1.period] },
        { type: 'double-long-unsigned', value: PERIOD_SECONDS[p.recovery2.period] },
        int(0),
        int(0),
        { type: 'double-long', value: p.paymentDebtRegister },
        { type: 'double-long', value: p.timeDebtRegister1 },
        { type: 'double-long', value: p.timeDebtRegister2 },
      ],
    });
  },
  parse(apdu) {
    return parseByRebuilding(
      'ECS07',
      apdu.content,
      () => {
        const req = decodeRequest(apdu.content, 'ECS07');
        const at = (i: number, kind: 'set' | 'action', x: number, index: number) => specData(req, i, kind, CLASS_CHARGE, chargeObj(x), index, 'ECS07');
        const r1 = readUnitCharge(at(0, 'set', 1, ATTR_UNIT_CHARGE_PASSIVE), 'time debt 1 unit charge');
        const r2 = readUnitCharge(at(1, 'set', 2, ATTR_UNIT_CHARGE_PASSIVE), 'time debt 2 unit charge');
        const proportion = asLongUnsigned(at(2, 'set', 3, ATTR_PROPORTION), 'proportion');
        const p1 = periodFromSeconds(asDoubleLongUnsigned(at(3, 'set', 1, ATTR_PERIOD), 'period 1'));
        const p2 = periodFromSeconds(asDoubleLongUnsigned(at(4, 'set', 2, ATTR_PERIOD), 'period 2'));
        return {
          paymentDebtRegister: asDoubleLong(at(7, 'action', 3, METHOD_UPDATE_TOTAL), 'payment debt'),
          timeDebtRegister1: asDoubleLong(at(8, 'action', 1, METHOD_UPDATE_TOTAL), 'time debt 1'),
          timeDebtRegister2: asDoubleLong(at(9, 'action', 2, METHOD_UPDATE_TOTAL), 'time debt 2'),
          debtRecoveryPerPayment: proportion,
          recovery1: { ...r1, period: p1 },
          recovery2: { ...r2, period: p2 },
        };
      },
      (p) => ECS07.build(p, { counter: apdu.counter }),
    );
  },
};

// ---------------------------------------------------------------- GSME

export const CMD_CHANGE_DEBT = 0x02;

export interface GsmeTimeDebtRecovery {
  /** Amount recovered per period. */
  rate: number;
  period: RecoveryPeriod;
}

export interface GsmeUpdateDebt {
  timeDebtRegister1: number;
  timeDebtRegister2: number;
  paymentDebtRegister: number;
  /** Percentage of each payment that recovers the payment-based debt. */
  debtRecoveryPerPayment: number;
  recovery1: GsmeTimeDebtRecovery;
  recovery2: GsmeTimeDebtRecovery;
  /** ZCL Issuer Event ID of the three Change Debt commands. */
  issuerEventId?: number;
}

/** ZSE Debt Amount Type: incremental adjustment of debt 1, 2, 3. */
const INCREMENTAL_TYPE = [1, 3, 5] as const;
const METHOD_TIME = 0;
const METHOD_PERCENTAGE = 1;

interface ChangeDebt {
  amount: number;
  method: number;
  amountType: number;
  frequency: number;
  recoveryAmount: number;
  percentage: number;
}

function changeDebtPayload(issuerEventId: number, d: ChangeDebt): Buffer {
  return new ByteWriter()
    .u32le(issuerEventId)
    .u8(0) // debt label: empty octet string
    .u32le(d.amount >>> 0)
    .u8(d.method)
    .u8(d.amountType)
    .u32le(0) // recovery start time: now
    .u16le(0) // recovery collection time
    .u8(d.frequency)
    .u32le(d.recoveryAmount >>> 0)
    .u16le(d.percentage)
    .finish();
}

export const GCS04: UseCaseCodec<GsmeUpdateDebt> = {
  name: 'GCS04',
  code: 0x006e,
  srv: '2.3',
  family: 'gsme',
  critical: true,
  responseDateTime: false,
  build(p, ctx) {
    for (const [v, w] of [[p.timeDebtRegister1, 'TimeDebtRegister1'], [p.timeDebtRegister2, 'TimeDebtRegister2'], [p.paymentDebtRegister, 'PaymentDebtRegister'], [p.recovery1.rate, 'DebtRecoveryRate'], [p.recovery2.rate, 'DebtRecoveryRate']] as const) checkInt32(v, w);
    checkUint(p.debtRecoveryPerPayment, 16, 'DebtRecoveryPerPayment');
    const issuer = p.issuerEventId ?? ctx.issuerEventId ?? DEFAULT_ISSUER_EVENT_ID;
    const debts: ChangeDebt[] = [
      { amount: p.timeDebtRegister1, method: METHOD_TIME, amountType: INCREMENTAL_TYPE[0], frequency: PERIOD_FREQUENCY[p.recovery1.period], recoveryAmount: p.recovery1.rate, percentage: 0 },
      { amount: p.timeDebtRegister2, method: METHOD_TIME, amountType: INCREMENTAL_TYPE[1], frequency: PERIOD_FREQUENCY[p.recovery2.period], recoveryAmount: p.recovery2.rate, percentage: 0 },
      // RTDS sends frequency 1 with the percentage-based debt, although a percentage has no period.
      { amount: p.paymentDebtRegister, method: METHOD_PERCENTAGE, amountType: INCREMENTAL_TYPE[2], frequency: 1, recoveryAmount: 0, percentage: p.debtRecoveryPerPayment },
    ];
    return writeComponents(debts.map((d, i) => command(i, CLUSTER_PREPAYMENT, CMD_CHANGE_DEBT, changeDebtPayload(issuer, d))));
  },
  parse(apdu) {
    let issuerEventId = DEFAULT_ISSUER_EVENT_ID;
    return parseByRebuilding(
      'GCS04',
      apdu.content,
      () => {
        const cs = readComponents(apdu.content, 'GCS04');
        if (cs.length !== 3) return fail('bad-value', `GCS04: expected three Change Debt commands, got ${cs.length}`, 0);
        const debts = cs.map((c) =>
          readPayload(c, 'Change Debt', (r) => {
            issuerEventId = r.u32le('issuer event id');
            r.lengthPrefixed('debt label');
            const amount = r.u32le('debt amount') | 0;
            r.u8('recovery method');
            r.u8('amount type');
            r.u32le('recovery start time');
            r.u16le('collection time');
            const frequency = r.u8('recovery frequency');
            const recoveryAmount = r.u32le('recovery amount') | 0;
            const percentage = r.u16le('recovery balance percentage');
            return { amount, frequency, recoveryAmount, percentage };
          }),
        );
        const [d1, d2, d3] = debts as [(typeof debts)[0], (typeof debts)[0], (typeof debts)[0]];
        return {
          timeDebtRegister1: d1.amount,
          timeDebtRegister2: d2.amount,
          paymentDebtRegister: d3.amount,
          debtRecoveryPerPayment: d3.percentage,
          recovery1: { rate: d1.recoveryAmount, period: periodFromFrequency(d1.frequency) },
          recovery2: { rate: d2.recoveryAmount, period: periodFromFrequency(d2.frequency) },
          issuerEventId,
        };
      },
      (p) => GCS04.build(p, { counter: apdu.counter }),
    );
  },
};

export function recoveryPeriodSeconds(p: RecoveryPeriod): number {
  return PERIOD_SECONDS[p];
}

