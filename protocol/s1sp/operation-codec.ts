/**
 * Binary form of a MeterOperation inside an S1SP instruction body: an operation code octet, then fixed fields
 * (big-endian, amounts signed 32-bit). Decoding is strict: unknown codes, out-of-range enums and trailing
 * octets are refused by the frame decoder.
 */
import { ByteReader, ByteWriter, toHex } from '../gbcs/bytes.ts';
import { type Execution, fromZigbeeUtcTime, zigbeeUtcTime } from '../gbcs/datetime.ts';
import { fail } from '../gbcs/errors.ts';
import { type MeterOperation, type ReadKind, type ReadResult, type RecoveryPeriod, type SupplyAction } from './operations.ts';

const OP_CODE: Record<MeterOperation['op'], number> = {
  'payment-mode': 0x01,
  'adjust-balance': 0x02,
  'set-balance': 0x03,
  'reset-balances': 0x04,
  'prepayment-configuration': 0x05,
  'top-up': 0x06,
  'update-debt': 0x07,
  'activate-emergency-credit': 0x08,
  tariff: 0x09,
  supply: 0x0a,
  read: 0x0b,
};
/** Whether `name` is an operation S1SP carries (an alert names the one it reports on). */
export function isOperationName(name: string): name is MeterOperation['op'] {
  return Object.hasOwn(OP_CODE, name);
}

const OP_BY_CODE = new Map(Object.entries(OP_CODE).map(([k, v]) => [v, k as MeterOperation['op']]));
const PERIODS: RecoveryPeriod[] = ['hourly', 'daily', 'weekly'];
const SUPPLY: SupplyAction[] = ['enable', 'disable', 'arm'];
const READS: ReadKind[] = ['import-registers', 'prepay-values'];
const MAX_RATES = 64;

function i32(w: ByteWriter, v: number, what: string): void {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`${what} ${v} is not a 32-bit signed integer`);
  w.u32(v >>> 0);
}

const readI32 = (r: ByteReader, what: string) => r.u32(what) | 0;

function writeExecution(w: ByteWriter, e: Execution): void {
  if (e.kind === 'now') w.u8(0);
  else if (e.kind === 'never') w.u8(1);
  else w.u8(2).u32(zigbeeUtcTime(e.at));
}

function readExecution(r: ByteReader): Execution {
  const at = r.offset;
  const kind = r.u8('execution kind');
  if (kind === 0) return { kind: 'now' };
  if (kind === 1) return { kind: 'never' };
  if (kind === 2) return { kind: 'at', at: fromZigbeeUtcTime(r.u32('execution time')) };
  return fail('bad-value', `execution kind ${kind}`, at);
}

function writeDigest(w: ByteWriter, hex: string, what: string): void {
  if (!/^[0-9A-Fa-f]{16}$/.test(hex)) throw new RangeError(`${what} must be 16 hex digits`);
  w.bytes(Buffer.from(hex, 'hex'));
}

function pick<T>(list: readonly T[], r: ByteReader, what: string): T {
  const at = r.offset;
  const i = r.u8(what);
  return list[i] ?? fail('bad-value', `${what} ${i}`, at);
}

function index<T>(list: readonly T[], v: T): number {
  const i = list.indexOf(v);
  if (i < 0) throw new RangeError(`unknown value ${String(v)}`);
  return i;
}

export function encodeOperation(o: MeterOperation): Buffer {
  const w = new ByteWriter().u8(OP_CODE[o.op]);
  switch (o.op) {
    case 'payment-mode':
      if (o.target.mode === 'credit') w.u8(1);
      else {
        w.u8(2).u8(o.target.suspendDebtDisabled ? 1 : 0).u8(o.target.suspendDebtEmergency ? 1 : 0);
        i32(w, o.target.disablementThreshold, 'disablement threshold');
      }
      writeExecution(w, o.execution);
      break;
    case 'adjust-balance':
    case 'set-balance':
      i32(w, o.amount, 'amount');
      break;
    case 'reset-balances':
    case 'activate-emergency-credit':
      break;
    case 'prepayment-configuration': {
      const c = o.configuration;
      for (const k of ['lowCreditThreshold', 'maxMeterBalance', 'maxCreditThreshold', 'debtRecoveryRateCap', 'emergencyCreditLimit', 'emergencyCreditThreshold'] as const) i32(w, c[k], k);
      writeDigest(w, c.calendar, 'calendar');
      writeExecution(w, o.execution);
      break;
    }
    case 'top-up':
      if (!/^[0-9]{20}$/.test(o.utrn)) throw new RangeError('a UTRN is 20 decimal digits');
      w.bytes(Buffer.from(o.utrn, 'latin1'));
      break;
    case 'update-debt': {
      const d = o.debt;
      i32(w, d.timeDebt1, 'time debt 1');
      i32(w, d.timeDebt2, 'time debt 2');
      i32(w, d.paymentDebt, 'payment debt');
      i32(w, d.recovery.timeDebt1Rate, 'time debt 1 rate');
      w.u8(index(PERIODS, d.recovery.timeDebt1Period));
      i32(w, d.recovery.timeDebt2Rate, 'time debt 2 rate');
      w.u8(index(PERIODS, d.recovery.timeDebt2Period));
      i32(w, d.recovery.paymentDebtRate, 'payment debt rate');
      break;
    }
    case 'tariff':
      i32(w, o.tariff.standingCharge, 'standing charge');
      if (o.tariff.unitRates.length > MAX_RATES) throw new RangeError(`at most ${MAX_RATES} unit rates`);
      w.u8(o.tariff.unitRates.length);
      for (const rate of o.tariff.unitRates) i32(w, rate, 'unit rate');
      writeDigest(w, o.tariff.digest, 'tariff digest');
      writeExecution(w, o.execution);
      break;
    case 'supply':
      w.u8(index(SUPPLY, o.action));
      break;
    case 'read':
      w.u8(index(READS, o.what));
      break;
  }
  return w.finish();
}

export function decodeOperation(r: ByteReader): MeterOperation {
  const at = r.offset;
  const op = OP_BY_CODE.get(r.u8('operation code')) ?? fail('bad-value', 'unknown S1SP operation', at);
  switch (op) {
    case 'payment-mode': {
      const mAt = r.offset;
      const mode = r.u8('payment mode');
      if (mode === 1) return { op, target: { mode: 'credit' }, execution: readExecution(r) };
      if (mode !== 2) return fail('bad-value', `payment mode ${mode}`, mAt);
      const flag = (what: string) => {
        const fAt = r.offset;
        const v = r.u8(what);
        return v === 0 ? false : v === 1 ? true : fail('bad-value', `${what} ${v}`, fAt);
      };
      const suspendDebtDisabled = flag('suspend debt disabled');
      const suspendDebtEmergency = flag('suspend debt emergency');
      const disablementThreshold = readI32(r, 'disablement threshold');
      return { op, target: { mode: 'prepayment', suspendDebtDisabled, suspendDebtEmergency, disablementThreshold }, execution: readExecution(r) };
    }
    case 'adjust-balance':
    case 'set-balance':
      return { op, amount: readI32(r, 'amount') };
    case 'reset-balances':
    case 'activate-emergency-credit':
      return { op };
    case 'prepayment-configuration': {
      const [lowCreditThreshold, maxMeterBalance, maxCreditThreshold, debtRecoveryRateCap, emergencyCreditLimit, emergencyCreditThreshold] = [0, 0, 0, 0, 0, 0].map(() => readI32(r, 'configuration value')) as [number, number, number, number, number, number];
      const calendar = toHex(r.take(8, 'calendar digest'));
      return { op, configuration: { lowCreditThreshold, maxMeterBalance, maxCreditThreshold, debtRecoveryRateCap, emergencyCreditLimit, emergencyCreditThreshold, calendar }, execution: readExecution(r) };
    }
    case 'top-up': {
      const uAt = r.offset;
      const utrn = Buffer.from(r.take(20, 'UTRN')).toString('latin1');
      if (!/^[0-9]{20}$/.test(utrn)) fail('bad-value', 'UTRN must be 20 digits', uAt);
      return { op, utrn };
    }
    case 'update-debt': {
      const timeDebt1 = readI32(r, 'time debt 1');
      const timeDebt2 = readI32(r, 'time debt 2');
      const paymentDebt = readI32(r, 'payment debt');
      const timeDebt1Rate = readI32(r, 'rate');
      const timeDebt1Period = pick(PERIODS, r, 'period');
      const timeDebt2Rate = readI32(r, 'rate');
      const timeDebt2Period = pick(PERIODS, r, 'period');
      const paymentDebtRate = readI32(r, 'payment debt rate');
      return { op, debt: { timeDebt1, timeDebt2, paymentDebt, recovery: { timeDebt1Rate, timeDebt1Period, timeDebt2Rate, timeDebt2Period, paymentDebtRate } } };
    }
    case 'tariff': {
      const standingCharge = readI32(r, 'standing charge');
      const nAt = r.offset;
      const n = r.u8('unit rate count');
      if (n > MAX_RATES) fail('bad-length', `${n} unit rates`, nAt);
      const unitRates = Array.from({ length: n }, () => readI32(r, 'unit rate'));
      const digest = toHex(r.take(8, 'tariff digest'));
      return { op, tariff: { standingCharge, unitRates, digest }, execution: readExecution(r) };
    }
    case 'supply':
      return { op, action: pick(SUPPLY, r, 'supply action') };
    case 'read':
      return { op, what: pick(READS, r, 'read kind') };
  }
}

export function encodeReadResult(v: ReadResult): Buffer {
  const w = new ByteWriter().u8(index(READS, v.what));
  if (v.what === 'import-registers') {
    w.u32(v.activeImportWh >>> 0);
  } else {
    w.u8(v.paymentMode === 'credit' ? 1 : 2);
    for (const x of [v.meterBalance, v.emergencyCreditBalance, v.accumulatedDebt, v.timeDebt1, v.timeDebt2, v.paymentDebt]) i32(w, x, 'value');
  }
  return w.finish();
}

export function decodeReadResult(r: ByteReader): ReadResult {
  const what = pick(READS, r, 'read kind');
  if (what === 'import-registers') return { what, activeImportWh: r.u32('active import') };
  const mAt = r.offset;
  const mode = r.u8('payment mode');
  if (mode !== 1 && mode !== 2) fail('bad-value', `payment mode ${mode}`, mAt);
  const [meterBalance, emergencyCreditBalance, accumulatedDebt, timeDebt1, timeDebt2, paymentDebt] = [0, 0, 0, 0, 0, 0].map(() => readI32(r, 'value')) as [number, number, number, number, number, number];
  return { what, paymentMode: mode === 1 ? 'credit' : 'prepayment', meterBalance, emergencyCreditBalance, accumulatedDebt, timeDebt1, timeDebt2, paymentDebt };
}
