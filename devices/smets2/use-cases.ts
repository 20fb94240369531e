/**
 * What a SMETS2+ meter does with each GBCS use case it supports: which remote party roles may send it (the
 * device-side authorisation) and which MeterOperation its parameters mean.
 */
import { createHash } from 'node:crypto';
import { type AnyCodec, codecByCode } from '../../protocol/gbcs/usecases/catalogue.ts';
import { type DeviceFamily } from '../../protocol/gbcs/message-codes.ts';
import { type EsmeUpdateDebt, type GsmeUpdateDebt } from '../../protocol/gbcs/usecases/debt.ts';
import { type EsmePrepayConfiguration, type GsmePrepayConfiguration } from '../../protocol/gbcs/usecases/prepayment-config.ts';
import { type EsmeTariff, type GsmeTariff, gsmePrices } from '../../protocol/gbcs/usecases/tariff.ts';
import { type PaymentModeParams } from '../../protocol/gbcs/usecases/catalogue.ts';
import { type MeterOperation } from '../../protocol/s1sp/operations.ts';
import { type AnchorRole } from './trust-anchors.ts';

export interface Smets2UseCase {
  codec: AnyCodec;
  /** Trust anchor roles allowed to originate it. */
  roles: readonly AnchorRole[];
  operation(params: unknown): MeterOperation;
}

const SUPPLIER: readonly AnchorRole[] = ['supplier'];
const SUPPLIER_OR_NETWORK_OPERATOR: readonly AnchorRole[] = ['supplier', 'networkOperator'];

/** 16 hex digits identifying a value (calendars, whole tariffs) without keeping it. */
export function digest(value: unknown): string {
  const json = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return createHash('sha256').update(json).digest().subarray(0, 8).toString('hex').toUpperCase();
}

function trimZeros(xs: number[]): number[] {
  let n = xs.length;
  while (n > 0 && xs[n - 1] === 0) n--;
  return xs.slice(0, n);
}

function paymentMode(p: unknown): MeterOperation {
  const { change } = p as PaymentModeParams;
  return { op: 'payment-mode', target: change.target, execution: change.execution };
}

/** ECS08 and GCS05 set the same thresholds; their calendars (kept as a digest) differ in shape. */
function prepaymentConfiguration(p: EsmePrepayConfiguration | GsmePrepayConfiguration, calendar: unknown): MeterOperation {
  return {
    op: 'prepayment-configuration',
    execution: p.execution,
    configuration: {
      lowCreditThreshold: p.lowCreditThreshold,
      maxMeterBalance: p.maxMeterBalance,
      maxCreditThreshold: p.maxCreditThreshold,
      debtRecoveryRateCap: p.debtRecoveryRateCap,
      ...('debtRecoveryRateCapPeriod' in p ? { debtRecoveryRateCapPeriod: p.debtRecoveryRateCapPeriod } : {}),
      emergencyCreditLimit: p.emergencyCreditLimit,
      emergencyCreditThreshold: p.emergencyCreditThreshold,
      calendar: digest(calendar),
    },
  };
}

function updateDebt(p: EsmeUpdateDebt | GsmeUpdateDebt): MeterOperation {
  return {
    op: 'update-debt',
    debt: {
      timeDebt1: p.timeDebtRegister1,
      timeDebt2: p.timeDebtRegister2,
      paymentDebt: p.paymentDebtRegister,
      recovery: {
        timeDebt1Rate: p.recovery1.rate,
        timeDebt1Period: p.recovery1.period,
        timeDebt2Rate: p.recovery2.rate,
        timeDebt2Period: p.recovery2.period,
        ...('priceScale' in p.recovery1 ? { timeDebt1PriceScale: p.recovery1.priceScale } : {}),
        ...('priceScale' in p.recovery2 ? { timeDebt2PriceScale: p.recovery2.priceScale } : {}),
        paymentDebtRate: p.debtRecoveryPerPayment,
      },
    },
  };
}

const OPERATIONS: Record<string, (p: never) => MeterOperation> = {
  ECS02: paymentMode,
  ECS03: paymentMode,
  GCS02: paymentMode,
  GCS03: paymentMode,
  ECS04a: (p: { amount: number }) => ({ op: 'adjust-balance', amount: p.amount }),
  GCS40a: (p: { amount: number }) => ({ op: 'adjust-balance', amount: p.amount }),
  GCS40c: (p: { amount: number }) => ({ op: 'adjust-balance', amount: p.amount }),
  GCS40b: (p: { amount: number }) => ({ op: 'set-balance', amount: p.amount }),
  GCS40d: (p: { amount: number }) => ({ op: 'set-balance', amount: p.amount }),
  ECS04b: () => ({ op: 'reset-balances' }),
  ECS08: (p: EsmePrepayConfiguration) => prepaymentConfiguration(p, [p.specialDays, p.calendar]),
  GCS05: (p: GsmePrepayConfiguration) => prepaymentConfiguration(p, p.calendar),
  CS01a: (p: { utrn: string }) => ({ op: 'top-up', utrn: p.utrn }),
  CS01b: (p: { utrn: string }) => ({ op: 'top-up', utrn: p.utrn }),
  ECS07: updateDebt,
  GCS04: updateDebt,
  ECS09: () => ({ op: 'activate-emergency-credit' }),
  GCS06: () => ({ op: 'activate-emergency-credit' }),
  ECS01a: (p: EsmeTariff) => {
    const { execution, ...rest } = p;
    return { op: 'tariff', execution, tariff: { standingCharge: p.standingCharge, unitRates: trimZeros(p.prices.map((x) => x.price)), digest: digest(rest) } };
  },
  GCS01a: (p: GsmeTariff) => {
    const { execution, ...rest } = p;
    let unitRates: number[] = [];
    try {
      unitRates = trimZeros(gsmePrices(p.priceMatrix));
    } catch {
      // A price matrix the meter cannot read still identifies the tariff through the digest.
    }
    return { op: 'tariff', execution, tariff: { standingCharge: 0, unitRates, digest: digest(rest) } };
  },
  ECS42: () => ({ op: 'supply', action: 'enable' }),
  ECS43: () => ({ op: 'supply', action: 'disable' }),
  GCS32: () => ({ op: 'supply', action: 'disable' }),
  ECS44: () => ({ op: 'supply', action: 'arm' }),
  GCS39: () => ({ op: 'supply', action: 'arm' }),
  ECS17b: () => ({ op: 'read', what: 'import-registers' }),
  GCS13a: () => ({ op: 'read', what: 'import-registers' }),
  ECS19: () => ({ op: 'read', what: 'prepay-values' }),
  GCS14: () => ({ op: 'read', what: 'prepay-values' }),
};

const ROLES: Record<string, readonly AnchorRole[]> = { ECS17b: SUPPLIER_OR_NETWORK_OPERATOR, GCS13a: SUPPLIER_OR_NETWORK_OPERATOR };

/** The use case a meter of this family runs for a message code, if it supports it. */
export function smets2UseCase(messageCode: number, family: DeviceFamily): Smets2UseCase | undefined {
  const codec = codecByCode(messageCode);
  if (!codec || codec.family !== family) return undefined;
  const operation = OPERATIONS[codec.name];
  if (!operation) return undefined;
  return { codec, roles: ROLES[codec.name] ?? SUPPLIER, operation: operation as (p: unknown) => MeterOperation };
}

/** Names of the use cases a meter of this family supports. */
export function supportedUseCases(family: DeviceFamily): string[] {
  return Object.keys(OPERATIONS).filter((n) => (family === 'esme' ? !n.startsWith('G') && n !== 'CS01b' : n.startsWith('G') || n === 'CS01b'));
}
