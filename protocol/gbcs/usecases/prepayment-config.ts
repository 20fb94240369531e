/**
 * SRV 2.1 Update Prepay Configuration.
 * - ECS08 (ESME): SETs of the passive values of GBCS class 9000 objects (maximum meter balance, maximum credit
 *   threshold, debt recovery rate cap and its period, low credit threshold, emergency credit limit and
 *   threshold), the non-disablement special days (class 11) and calendar (class 10), then one activation time
 *   per activated object, all equal to the execution time.
 * - GCS05 (GSME): Emergency Credit Setup, Set Overall Debt Cap, Set Low Credit Warning Level (future-dated with
 *   the From-Date-Time header), Set Maximum Credit Limit, then the non-disablement calendar as Publish
 *   Calendar / Day Profiles / Week Profiles / Seasons / Special Days.
 * Calendars and special-day tables are carried verbatim (hex): the meters record a digest of them.
 */
import { ByteWriter, toHex } from '../bytes.ts';
import { type Execution } from '../datetime.ts';
import { type DlmsData } from '../dlms.ts';
import { fail } from '../errors.ts';
import { CLUSTER_PREPAYMENT } from './payment-mode.ts';
import {
  asDoubleLong,
  asExecution,
  asLongUnsigned,
  checkInt32,
  checkUint,
  rawData,
  rawHex,
  DEFAULT_ISSUER_EVENT_ID,
  decodeRequest,
  encodeRequest,
  executionData,
  invokeIdFor,
  parseByRebuilding,
  specData,
  type UseCaseCodec,
} from './command-codec.ts';
import { type Component, command, componentTime, Fc, payloadWithoutTime, readComponents, stampTime, withComponentTime, writeComponents } from './gbz-components.ts';

export interface EsmePrepayConfiguration {
  execution: Execution;
  maxMeterBalance: number;
  maxCreditThreshold: number;
  /** Debt recovery rate cap: amount (unsigned 16-bit) per period (seconds). */
  debtRecoveryRateCap: number;
  debtRecoveryRateCapPeriod: number;
  lowCreditThreshold: number;
  emergencyCreditLimit: number;
  emergencyCreditThreshold: number;
  /** DLMS data (hex) of the non-disablement special days table (class 11 attr 2). */
  specialDays: string;
  /** DLMS data (hex) of the non-disablement calendar (class 10 schedule attr 2). */
  calendar: string;
}

const CLASS_EXTENDED = 0x2328;
const CLASS_SCHEDULE = 0x000a;
const CLASS_SPECIAL_DAYS = 0x000b;
const NON_DISABLEMENT_SPECIAL_DAYS = '00010B0002FF';
const NON_DISABLEMENT_CALENDAR = '00010C0001FF';
const ext = (suffix: string) => `00005E2C${suffix}`;
/** 0-0:94.44.x.y objects, by what they hold. */
const OBJ = {
  maxMeterBalance: ext('0214'),
  maxCreditThreshold: ext('020A'),
  debtRecoveryRateCap: ext('800C'),
  debtRecoveryRateCapPeriod: ext('800D'),
  lowCreditThreshold: ext('8009'),
  emergencyCreditLimit: ext('8002'),
  emergencyCreditThreshold: ext('8003'),
  specialDaysActivation: ext('801F'),
  calendarActivation: ext('801C'),
} as const;
const ATTR_VALUE = 2;
const ATTR_PASSIVE = 4;
const ATTR_ACTIVATION = 6;

/** Objects activated at the execution time, in the order their activation times are written (and alerted). */
const ACTIVATION_ORDER_TAIL = [OBJ.maxMeterBalance, OBJ.maxCreditThreshold, OBJ.debtRecoveryRateCap, OBJ.debtRecoveryRateCapPeriod, OBJ.lowCreditThreshold, OBJ.emergencyCreditLimit, OBJ.emergencyCreditThreshold, OBJ.calendarActivation];

export const ECS08: UseCaseCodec<EsmePrepayConfiguration> = {
  name: 'ECS08',
  code: 0x001f,
  srv: '2.1',
  family: 'esme',
  critical: true,
  responseDateTime: true,
  build(p, ctx) {
    for (const k of ['maxMeterBalance', 'maxCreditThreshold', 'debtRecoveryRateCapPeriod', 'lowCreditThreshold', 'emergencyCreditLimit', 'emergencyCreditThreshold'] as const) checkInt32(p[k], k);
    checkUint(p.debtRecoveryRateCap, 16, 'debtRecoveryRateCap');
    const set = (classId: number, instance: string, index: number) => ({ kind: 'set' as const, target: { classId, instance, index } });
    const at = executionData(p.execution);
    const dl = (value: number): DlmsData => ({ type: 'double-long', value });
    return encodeRequest({
      invokeId: invokeIdFor(ctx.counter),
      specs: [
        set(CLASS_SPECIAL_DAYS, NON_DISABLEMENT_SPECIAL_DAYS, ATTR_VALUE),
        set(CLASS_EXTENDED, OBJ.maxMeterBalance, ATTR_VALUE),
        set(CLASS_EXTENDED, OBJ.maxCreditThreshold, ATTR_PASSIVE),
        set(CLASS_SCHEDULE, NON_DISABLEMENT_CALENDAR, ATTR_VALUE),
        set(CLASS_EXTENDED, OBJ.debtRecoveryRateCap, ATTR_PASSIVE),
        set(CLASS_EXTENDED, OBJ.debtRecoveryRateCapPeriod, ATTR_PASSIVE),
        set(CLASS_EXTENDED, OBJ.lowCreditThreshold, ATTR_PASSIVE),
        set(CLASS_EXTENDED, OBJ.emergencyCreditLimit, ATTR_PASSIVE),
        set(CLASS_EXTENDED, OBJ.specialDaysActivation, ATTR_ACTIVATION),
        set(CLASS_EXTENDED, OBJ.emergencyCreditThreshold, ATTR_PASSIVE),
        ...ACTIVATION_ORDER_TAIL.map((o) => set(CLASS_EXTENDED, o, ATTR_ACTIVATION)),
      ],
      data: [
        rawData(p.specialDays, 'special days'),
        dl(p.maxMeterBalance),
        dl(p.maxCreditThreshold),
        rawData(p.calendar, 'non-disablement calendar'),
        { type: 'long-unsigned', value: p.debtRecoveryRateCap },
        dl(p.debtRecoveryRateCapPeriod),
        dl(p.lowCreditThreshold),
        dl(p.emergencyCreditLimit),
        at,
        dl(p.emergencyCreditThreshold),
        ...ACTIVATION_ORDER_TAIL.map(() => at),
      ],
    });
  },
  parse(apdu) {
    return parseByRebuilding(
      'ECS08',
      apdu.content,
      () => {
        const req = decodeRequest(apdu.content, 'ECS08');
        const get = (i: number, classId: number, instance: string, index: number) => specData(req, i, 'set', classId, instance, index, 'ECS08');
        const raw = (i: number, classId: number, instance: string, index: number) => {
          get(i, classId, instance, index);
          return rawHex(req, i);
        };
        return {
          execution: asExecution(get(8, CLASS_EXTENDED, OBJ.specialDaysActivation, ATTR_ACTIVATION), 'activation time'),
          maxMeterBalance: asDoubleLong(get(1, CLASS_EXTENDED, OBJ.maxMeterBalance, ATTR_VALUE), 'maximum meter balance'),
          maxCreditThreshold: asDoubleLong(get(2, CLASS_EXTENDED, OBJ.maxCreditThreshold, ATTR_PASSIVE), 'maximum credit threshold'),
          debtRecoveryRateCap: asLongUnsigned(get(4, CLASS_EXTENDED, OBJ.debtRecoveryRateCap, ATTR_PASSIVE), 'debt recovery rate cap'),
          debtRecoveryRateCapPeriod: asDoubleLong(get(5, CLASS_EXTENDED, OBJ.debtRecoveryRateCapPeriod, ATTR_PASSIVE), 'cap period'),
          lowCreditThreshold: asDoubleLong(get(6, CLASS_EXTENDED, OBJ.lowCreditThreshold, ATTR_PASSIVE), 'low credit threshold'),
          emergencyCreditLimit: asDoubleLong(get(7, CLASS_EXTENDED, OBJ.emergencyCreditLimit, ATTR_PASSIVE), 'emergency credit limit'),
          emergencyCreditThreshold: asDoubleLong(get(9, CLASS_EXTENDED, OBJ.emergencyCreditThreshold, ATTR_PASSIVE), 'emergency credit threshold'),
          specialDays: raw(0, CLASS_SPECIAL_DAYS, NON_DISABLEMENT_SPECIAL_DAYS, ATTR_VALUE),
          calendar: raw(3, CLASS_SCHEDULE, NON_DISABLEMENT_CALENDAR, ATTR_VALUE),
        };
      },
      (p) => ECS08.build(p, { counter: apdu.counter }),
    );
  },
};

// ---------------------------------------------------------------- GSME

export const CMD_EMERGENCY_CREDIT_SETUP = 0x03;
export const CMD_SET_LOW_CREDIT_WARNING_LEVEL = 0x09;
export const CMD_SET_MAXIMUM_CREDIT_LIMIT = 0x0b;
export const CMD_SET_OVERALL_DEBT_CAP = 0x0c;
export const CLUSTER_CALENDAR = 0x0707;

/** A Publish command of the Calendar cluster, verbatim apart from its start time (zeroed here). */
export interface CalendarCommand {
  commandId: number;
  payload: string;
}

export interface GsmePrepayConfiguration {
  execution: Execution;
  emergencyCreditLimit: number;
  emergencyCreditThreshold: number;
  /** Overall debt cap (DUIS DebtRecoveryRateCap). */
  debtRecoveryRateCap: number;
  lowCreditThreshold: number;
  maxMeterBalance: number;
  maxCreditThreshold: number;
  /** The non-disablement calendar: Publish Calendar, Day Profiles, Week Profiles, Seasons, Special Days. */
  calendar: CalendarCommand[];
  /** ZCL Issuer Event ID of the Prepayment cluster commands. */
  issuerEventId?: number;
}

const CALENDAR_ORDER = [0x00, 0x01, 0x02, 0x03, 0x04];

export const GCS05: UseCaseCodec<GsmePrepayConfiguration> = {
  name: 'GCS05',
  code: 0x006f,
  srv: '2.1',
  family: 'gsme',
  critical: true,
  responseDateTime: true,
  build(p, ctx) {
    for (const k of ['emergencyCreditLimit', 'emergencyCreditThreshold', 'debtRecoveryRateCap', 'lowCreditThreshold', 'maxMeterBalance', 'maxCreditThreshold'] as const) checkUint(p[k], 32, k);
    checkCalendarOrder(p.calendar.map((c) => c.commandId));
    const issuer = p.issuerEventId ?? ctx.issuerEventId ?? DEFAULT_ISSUER_EVENT_ID;
    const e = p.execution;
    const components: Component[] = [
      withComponentTime(command(0, CLUSTER_PREPAYMENT, CMD_EMERGENCY_CREDIT_SETUP, new ByteWriter().u32le(issuer).u32le(0).u32le(p.emergencyCreditLimit).u32le(p.emergencyCreditThreshold).finish()), e),
      withComponentTime(command(1, CLUSTER_PREPAYMENT, CMD_SET_OVERALL_DEBT_CAP, new ByteWriter().u32le(0).u32le(issuer).u32le(0).u32le(p.debtRecoveryRateCap).finish()), e),
      command(2, CLUSTER_PREPAYMENT, CMD_SET_LOW_CREDIT_WARNING_LEVEL, new ByteWriter().u32le(p.lowCreditThreshold).finish(), Fc.clusterClientToServer, e),
      withComponentTime(command(3, CLUSTER_PREPAYMENT, CMD_SET_MAXIMUM_CREDIT_LIMIT, new ByteWriter().u32le(0).u32le(issuer).u32le(0).u32le(p.maxMeterBalance).u32le(p.maxCreditThreshold).finish()), e),
      ...p.calendar.map((c, i) => stampTime(command(4 + i, CLUSTER_CALENDAR, c.commandId, Buffer.from(c.payload, 'hex'), Fc.clusterServerToClient), e)),
    ];
    return writeComponents(components);
  },
  parse(apdu) {
    return parseByRebuilding(
      'GCS05',
      apdu.content,
      () => {
        const cs = readComponents(apdu.content, 'GCS05');
        const [ec, cap, lcw, max, ...cal] = cs;
        if (!ec || !cap || !lcw || !max) return fail('bad-value', 'GCS05: expected at least four Prepayment commands', 0);
        const execution = componentTime(ec) ?? fail('bad-value', 'GCS05: the first command must be Emergency Credit Setup', 0);
        const u32 = (c: Component, at: number) => (c.payload.length >= at + 4 ? Buffer.from(c.payload).readUInt32LE(at) : fail('bad-length', 'GCS05: short payload', 0));
        return {
          issuerEventId: u32(ec, 0),
          execution,
          emergencyCreditLimit: u32(ec, 8),
          emergencyCreditThreshold: u32(ec, 12),
          debtRecoveryRateCap: u32(cap, 12),
          lowCreditThreshold: u32(lcw, 0),
          maxMeterBalance: u32(max, 12),
          maxCreditThreshold: u32(max, 16),
          calendar: cal.map((c) => ({ commandId: c.commandId, payload: toHex(payloadWithoutTime(c)) })),
        };
      },
      (p) => GCS05.build(p, { counter: apdu.counter }),
    );
  },
};

/** Calendar, then day profiles, week profiles, seasons and special days, each kind once or more, in order. */
export function checkCalendarOrder(ids: number[]): void {
  let k = 0;
  for (const id of ids) {
    while (k < CALENDAR_ORDER.length && CALENDAR_ORDER[k] !== id) k++;
    if (k === CALENDAR_ORDER.length) throw new RangeError(`calendar commands out of order: ${ids.join(',')}`);
  }
  if (ids[0] !== 0x00) throw new RangeError('a calendar starts with Publish Calendar');
}
