/**
 * The shape of a meter's saved state record (Meter.exportState), checked field by field before a meter takes
 * one in: a state file damaged or written by hand must be refused whole, not accepted and then make the meter
 * add a number to a string or throw on every frame.
 */
import { z } from 'zod';

const int = z.number().int().refine(Number.isSafeInteger, 'a safe integer');
const count = int.refine((n) => n >= 0, 'not negative');
const hex16 = z.string().regex(/^[0-9A-F]{16}$/, '16 upper-case hex digits');
const period = z.enum(['hourly', 'daily', 'weekly']);

const securityEntry = z.strictObject({
  at: z.number(),
  code: z.enum(['8F1E', '8F30', '8F53', '8F60']),
  reason: z.string(),
  source: z.string().optional(),
  counter: z.bigint().optional(),
  messageCode: int.optional(),
});

const eventEntry = z.strictObject({
  at: z.number(),
  event: z.enum(['executed', 'scheduled', 'cancelled', 'refused', 'future-dated-executed', 'consumer-enabled-supply']),
  useCase: z.string().optional(),
  source: z.string().optional(),
  counter: z.bigint().optional(),
  detail: z.string().optional(),
});

const prepaymentConfiguration = z.strictObject({
  lowCreditThreshold: int,
  maxMeterBalance: int,
  maxCreditThreshold: int,
  debtRecoveryRateCap: int,
  debtRecoveryRateCapPeriod: int.optional(),
  emergencyCreditLimit: int,
  emergencyCreditThreshold: int,
  calendar: hex16,
});
const tariff = z.strictObject({ standingCharge: int, unitRates: z.array(int), digest: hex16 });
const paymentTarget = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('credit') }),
  z.strictObject({ mode: z.literal('prepayment'), suspendDebtDisabled: z.boolean(), suspendDebtEmergency: z.boolean(), disablementThreshold: int }),
]);

/**
 * A pending change as saved (without its timer): what it will write is checked like the record it will write
 * into. Its execution time is checked where it is scheduled again.
 */
const byte = int.refine((n) => n >= 0 && n <= 0xff, 'an octet');
const u16 = int.refine((n) => n >= 0 && n <= 0xffff, 'from 0 to 65535');
/** What the alert a SMETS2+ meter raises on executing the change names: DLMS attributes (ESME) or ZCL commands (GSME). */
const alertTargets = z.union([
  z.strictObject({ attributes: z.array(z.strictObject({ classId: u16, instance: z.string().regex(/^[0-9A-F]{12}$/, 'an OBIS code in 12 upper-case hex digits'), index: byte })) }),
  z.strictObject({ commands: z.array(z.strictObject({ clusterId: u16, frameControl: byte, commandId: byte })) }),
]);
const u64 = z.bigint().refine((v) => v >= 0n && v < 1n << 64n, 'from 0 to 2^64 - 1');
// The sender is who the change's alert goes to; which use case names are a meter's own is for its kind to say.
const common = { ctx: z.strictObject({ source: hex16, counter: u64, useCase: z.string() }), at: z.number(), alertInfo: alertTargets.optional() };
const execution = z.unknown();
const pendingChange = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('paymentMode'), op: z.strictObject({ op: z.literal('payment-mode'), target: paymentTarget, execution }), ...common }),
  z.strictObject({ kind: z.literal('prepaymentConfiguration'), op: z.strictObject({ op: z.literal('prepayment-configuration'), configuration: prepaymentConfiguration, execution }), ...common }),
  z.strictObject({ kind: z.literal('tariff'), op: z.strictObject({ op: z.literal('tariff'), tariff, execution }), ...common }),
]);

export const savedStateRecord = z.strictObject({
  variant: z.enum(['esme', 'esme-twin', 'gsme']),
  paymentMode: z.enum(['credit', 'prepayment']),
  suspendDebtDisabled: z.boolean(),
  suspendDebtEmergency: z.boolean(),
  disablementThreshold: int,
  meterBalance: int,
  emergencyCreditActive: z.boolean(),
  emergencyCreditBalance: int,
  accumulatedDebt: int,
  timeDebt1: int,
  timeDebt2: int,
  paymentDebt: int,
  debtRecovery: z.strictObject({
    timeDebt1Rate: int,
    timeDebt1Period: period,
    timeDebt2Rate: int,
    timeDebt2Period: period,
    timeDebt1PriceScale: int.optional(),
    timeDebt2PriceScale: int.optional(),
    paymentDebtRate: int,
  }),
  prepayment: prepaymentConfiguration,
  supply: z.enum(['enabled', 'disabled', 'armed']),
  tariff,
  activeImportWh: count,
  utrnCounter: z.bigint().nullable(),
  alertCounter: count,
  // [eui, counter, eui, counter, ...]
  counters: z
    .array(z.union([z.string(), z.bigint()]))
    .refine((c) => c.length % 2 === 0 && c.every((v, i) => typeof v === (i % 2 === 0 ? 'string' : 'bigint')), 'pairs of a sender and its counter')
    .nullable(),
  pending: z.array(pendingChange).nullable(),
  securityLog: z.array(securityEntry).nullable(),
  eventLog: z.array(eventEntry).nullable(),
});

/** What is wrong with a saved state record, in one line, or null when nothing is. */
export function savedStateProblem(record: unknown): string | null {
  const r = savedStateRecord.safeParse(record);
  return r.success ? null : r.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');
}
