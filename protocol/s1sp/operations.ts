/**
 * What a meter is asked to do, independent of how the request reached it: the SMETS2+ meters map each GBCS use
 * case onto one of these, and the S1SP carries them to SMETS1 meters as they are. One model means the two
 * generations share one state machine and one snapshot.
 */
import { type Execution } from '../gbcs/datetime.ts';
import { type PaymentModeTarget } from '../gbcs/usecases/payment-mode.ts';
import type { PrepayValues } from '../gbcs/usecases/reads.ts';

export type RecoveryPeriod = 'hourly' | 'daily' | 'weekly';

export interface PrepaymentConfiguration {
  lowCreditThreshold: number;
  maxMeterBalance: number;
  maxCreditThreshold: number;
  debtRecoveryRateCap: number;
  /** The period the cap applies over, in seconds: ESME only (ECS08); not carried to SMETS1 meters. */
  debtRecoveryRateCapPeriod?: number;
  emergencyCreditLimit: number;
  emergencyCreditThreshold: number;
  /** 16 hex digits identifying the non-disablement calendar (a digest of its tables). */
  calendar: string;
}

export interface Tariff {
  standingCharge: number;
  /** TOU or block unit rates in matrix order, trailing zeros dropped. */
  unitRates: number[];
  /** 16 hex digits identifying the whole tariff (calendars, thresholds, prices). */
  digest: string;
}

export interface DebtUpdate {
  /** Signed amounts added to each debt register. */
  timeDebt1: number;
  timeDebt2: number;
  paymentDebt: number;
  recovery: DebtRecovery;
}

export interface DebtRecovery {
  timeDebt1Rate: number;
  timeDebt1Period: RecoveryPeriod;
  timeDebt2Rate: number;
  timeDebt2Period: RecoveryPeriod;
  /** ESME only (ECS07): the power of ten each time-debt rate is scaled by; not carried to SMETS1 meters. */
  timeDebt1PriceScale?: number;
  timeDebt2PriceScale?: number;
  /** Share of each payment that recovers the payment-based debt. */
  paymentDebtRate: number;
}

export type SupplyAction = 'enable' | 'disable' | 'arm';
export type ReadKind = 'import-registers' | 'prepay-values';

export type MeterOperation =
  | { op: 'payment-mode'; target: PaymentModeTarget; execution: Execution }
  /** Adds a signed amount to the meter balance. */
  | { op: 'adjust-balance'; amount: number }
  /** Sets the meter balance (GSME Credit Adjustment of an absolute type). */
  | { op: 'set-balance'; amount: number }
  /** Zeroes meter balance, emergency credit and the accumulated debt register. */
  | { op: 'reset-balances' }
  | { op: 'prepayment-configuration'; configuration: PrepaymentConfiguration; execution: Execution }
  | { op: 'top-up'; utrn: string }
  | { op: 'update-debt'; debt: DebtUpdate }
  | { op: 'activate-emergency-credit' }
  | { op: 'tariff'; tariff: Tariff; execution: Execution }
  | { op: 'supply'; action: SupplyAction }
  | { op: 'read'; what: ReadKind };

export type OperationName = MeterOperation['op'];

/** Values a read returns. */
export type ReadResult =
  | { what: 'import-registers'; activeImportWh: number }
  | ({ what: 'prepay-values' } & PrepayValues);
