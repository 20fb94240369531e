/**
 * SRV 1.1.1 Update Import Tariff (primary element).
 * - ECS01a (ESME): the passive activity calendar (seasons, week and day profiles), special days, the eight
 *   block-threshold register monitors, the currency flag, the standing charge and the TOU/block price matrix
 *   (Charge objects 0-0:19.20.4.255 and 19.20.0.255), then six activation times (one 8F66 each when
 *   future-dated).
 * - GCS01a (GSME): the calendar as Publish Calendar / Day Profiles / Week Profiles / Seasons / Special Days
 *   (cluster 0x0707), then Publish Tariff Information, optionally Publish Block Thresholds, and Publish Price
 *   Matrix (cluster 0x0700).
 * Calendars and tables the meters only need to recognise are carried verbatim (hex); prices and the standing
 * charge are typed, because a tariff change is what a harness wants to see.
 */
import { ByteReader, toHex } from '../bytes.ts';
import { type Execution } from '../datetime.ts';
import { type DlmsData } from '../dlms.ts';
import { fail } from '../errors.ts';
import {
  asArray,
  asDoubleLongUnsigned,
  asExecution,
  asOctets,
  asStructure,
  checkInt16,
  checkUint,
  rawData,
  rawHex,
  decodeRequest,
  encodeRequest,
  executionData,
  gbcsBoolean,
  type RequestData,
  int,
  invokeIdFor,
  long,
  parseByRebuilding,
  specData,
  type UseCaseCodec,
} from './command-codec.ts';
import { type Component, command, componentTime, Fc, payloadWithoutTime, readComponents, stampTime, writeComponents } from './gbz-components.ts';
import { checkCalendarOrder } from './prepayment-config.ts';

export interface TouPrice {
  /** The price's index octet(s) in the matrix, hex ("01", "D8"). */
  index: string;
  price: number;
}

export interface EsmeTariff {
  execution: Execution;
  /** DLMS data (hex): season_profile, week_profile_table, day_profile_table of the passive calendar. */
  seasons: string;
  weekProfiles: string;
  dayProfiles: string;
  /** DLMS data (hex): the tariff special days table. */
  specialDays: string;
  /** Eight register monitors' thresholds (0xFFFFFFFF = no further block). */
  blockThresholds: number[][];
  /** GBCS "currency units" flag (0-0:94.44.2.0): true for pounds sterling. */
  currencyGbp: boolean;
  standingCharge: number;
  standingChargeScale: number;
  priceScale: number;
  prices: TouPrice[];
}

const CLASS_CALENDAR = 0x0014;
const CLASS_SPECIAL_DAYS = 0x000b;
const CLASS_REGISTER_MONITOR = 0x0015;
const CLASS_EXTENDED = 0x2328;
const CLASS_CHARGE = 0x0071;
const CALENDAR = '00000D0000FF';
const TARIFF_SPECIAL_DAYS = '00010B0000FF';
const CURRENCY_UNITS = '00005E2C0200';
const SPECIAL_DAYS_ACTIVATION = '00005E2C801D';
const THRESHOLD_MATRIX_ACTIVATION = '00003F0101FF';
const STANDING_CHARGE = '0000131404FF';
const PRICE_MATRIX = '0000131400FF';
const blockMonitor = (i: number) => `00001001${(0x0b + i).toString(16).toUpperCase().padStart(2, '0')}FF`;
const BLOCK_MONITORS = 8;
/** The price matrix is charged on active import energy, 1-0:1.8.0.255 (register, value attribute). */
const IMPORT_REGISTER = Buffer.from('0100010800FF', 'hex');
const ENERGY_SCALE = 3;

function unitCharge(commodityScale: number, priceScale: number, commodity: DlmsData[], charges: [Uint8Array, number][]): DlmsData {
  return {
    type: 'structure',
    items: [
      { type: 'structure', items: [int(commodityScale), int(priceScale)] },
      { type: 'structure', items: commodity },
      { type: 'array', items: charges.map(([index, value]) => ({ type: 'structure', items: [{ type: 'octet-string', value: index }, long(value)] })) },
    ],
  };
}

function readCharges(d: DlmsData, what: string): { priceScale: number; charges: { index: string; value: number }[] } {
  const [scaler, , list] = asStructure(d, what, 3);
  const [, ps] = asStructure(scaler!, `${what} scaler`, 2);
  if (ps?.type !== 'integer') return fail('bad-value', `${what}: price scale`, 0);
  const charges = asArray(list!, `${what} charges`).map((e) => {
    const [index, value] = asStructure(e, `${what} charge`, 2);
    if (value?.type !== 'long') return fail('bad-value', `${what}: charge must be a long`, 0);
    return { index: toHex(asOctets(index!, `${what} index`)), value: value.value };
  });
  return { priceScale: ps.value, charges };
}

const ACTIVATIONS: [number, string, number][] = [
  [CLASS_CALENDAR, CALENDAR, 10],
  [CLASS_EXTENDED, SPECIAL_DAYS_ACTIVATION, 6],
  [CLASS_EXTENDED, CURRENCY_UNITS, 6],
  [CLASS_CHARGE, STANDING_CHARGE, 7],
  [CLASS_CHARGE, PRICE_MATRIX, 7],
  [CLASS_EXTENDED, THRESHOLD_MATRIX_ACTIVATION, 6],
];

export const ECS01a: UseCaseCodec<EsmeTariff> = {
  name: 'ECS01a',
  code: 0x0019,
  srv: '1.1.1',
  family: 'esme',
  critical: true,
  responseDateTime: true,
  build(p, ctx) {
    if (p.blockThresholds.length !== BLOCK_MONITORS) throw new RangeError(`a tariff has ${BLOCK_MONITORS} threshold lists`);
    for (const list of p.blockThresholds) for (const t of list) checkUint(t, 32, 'block threshold');
    checkInt16(p.standingCharge, 'StandingCharge');
    for (const x of p.prices) checkInt16(x.price, 'price');
    const set = (classId: number, instance: string, index: number) => ({ kind: 'set' as const, target: { classId, instance, index } });
    const at = executionData(p.execution);
    const noCommodity: DlmsData[] = [{ type: 'long-unsigned', value: 0 }, { type: 'octet-string', value: new Uint8Array(6) }, int(0)];
    const importEnergy: DlmsData[] = [{ type: 'long-unsigned', value: 3 }, { type: 'octet-string', value: IMPORT_REGISTER }, int(2)];
    return encodeRequest({
      invokeId: invokeIdFor(ctx.counter),
      specs: [
        set(CLASS_CALENDAR, CALENDAR, 7),
        set(CLASS_CALENDAR, CALENDAR, 8),
        set(CLASS_CALENDAR, CALENDAR, 9),
        set(CLASS_SPECIAL_DAYS, TARIFF_SPECIAL_DAYS, 2),
        ...Array.from({ length: BLOCK_MONITORS }, (_, i) => set(CLASS_REGISTER_MONITOR, blockMonitor(i), 2)),
        set(CLASS_EXTENDED, CURRENCY_UNITS, 4),
        set(CLASS_CHARGE, STANDING_CHARGE, 6),
        set(CLASS_CHARGE, PRICE_MATRIX, 6),
        ...ACTIVATIONS.map(([c, i, a]) => set(c, i, a)),
      ],
      data: [
        rawData(p.seasons, 'seasons'),
        rawData(p.weekProfiles, 'week profiles'),
        rawData(p.dayProfiles, 'day profiles'),
        rawData(p.specialDays, 'special days'),
        ...p.blockThresholds.map((list): RequestData => ({ type: 'array', items: list.map((value) => ({ type: 'double-long-unsigned', value })) })),
        gbcsBoolean(p.currencyGbp),
        unitCharge(0, p.standingChargeScale, noCommodity, [[new Uint8Array(0), p.standingCharge]]),
        unitCharge(ENERGY_SCALE, p.priceScale, importEnergy, p.prices.map((x) => [Buffer.from(x.index, 'hex'), x.price])),
        ...ACTIVATIONS.map(() => at),
      ],
    });
  },
  parse(apdu) {
    return parseByRebuilding(
      'ECS01a',
      apdu.content,
      () => {
        const req = decodeRequest(apdu.content, 'ECS01a');
        const get = (i: number, classId: number, instance: string, index: number) => specData(req, i, 'set', classId, instance, index, 'ECS01a');
        const raw = (i: number, classId: number, instance: string, index: number) => {
          get(i, classId, instance, index);
          return rawHex(req, i);
        };
        const blockThresholds = Array.from({ length: BLOCK_MONITORS }, (_, i) =>
          asArray(get(4 + i, CLASS_REGISTER_MONITOR, blockMonitor(i), 2), 'thresholds').map((t) => asDoubleLongUnsigned(t, 'threshold')),
        );
        const currency = get(12, CLASS_EXTENDED, CURRENCY_UNITS, 4);
        if (currency.type !== 'boolean') return fail('bad-value', 'ECS01a: currency units must be a boolean', 0);
        // the canonical TRUE is 0xFF (the rebuild refuses other non-zero octets)
        const standing = readCharges(get(13, CLASS_CHARGE, STANDING_CHARGE, 6), 'standing charge');
        const matrix = readCharges(get(14, CLASS_CHARGE, PRICE_MATRIX, 6), 'price matrix');
        return {
          execution: asExecution(get(15, CLASS_CALENDAR, CALENDAR, 10), 'calendar activation time'),
          seasons: raw(0, CLASS_CALENDAR, CALENDAR, 7),
          weekProfiles: raw(1, CLASS_CALENDAR, CALENDAR, 8),
          dayProfiles: raw(2, CLASS_CALENDAR, CALENDAR, 9),
          specialDays: raw(3, CLASS_SPECIAL_DAYS, TARIFF_SPECIAL_DAYS, 2),
          blockThresholds,
          currencyGbp: currency.value,
          standingCharge: standing.charges[0]?.value ?? fail('bad-value', 'ECS01a: no standing charge', 0),
          standingChargeScale: standing.priceScale,
          priceScale: matrix.priceScale,
          prices: matrix.charges.map((c) => ({ index: c.index, price: c.value })),
        };
      },
      (p) => ECS01a.build(p, { counter: apdu.counter }),
    );
  },
};

// ---------------------------------------------------------------- GSME

export const CLUSTER_PRICE = 0x0700;
const CLUSTER_CALENDAR = 0x0707;
export const CMD_PUBLISH_TARIFF_INFORMATION = 0x04;
export const CMD_PUBLISH_PRICE_MATRIX = 0x05;
export const CMD_PUBLISH_BLOCK_THRESHOLDS = 0x06;

export interface PublishCommand {
  commandId: number;
  /** The ZCL payload (hex) with its start-time field zeroed: the execution time is stamped in on building. */
  payload: string;
}

export interface GsmeTariff {
  execution: Execution;
  /** Publish Calendar, Day Profiles, Week Profiles, Seasons, Special Days (cluster 0x0707). */
  calendar: PublishCommand[];
  /** Publish Tariff Information, optional Publish Block Thresholds, Publish Price Matrix (cluster 0x0700). */
  tariffInformation: string;
  blockThresholds?: string;
  priceMatrix: string;
}

export const GCS01a: UseCaseCodec<GsmeTariff> = {
  name: 'GCS01a',
  code: 0x006b,
  srv: '1.1.1',
  family: 'gsme',
  critical: true,
  responseDateTime: true,
  build(p) {
    checkCalendarOrder(p.calendar.map((c) => c.commandId));
    const price: PublishCommand[] = [
      { commandId: CMD_PUBLISH_TARIFF_INFORMATION, payload: p.tariffInformation },
      ...(p.blockThresholds === undefined ? [] : [{ commandId: CMD_PUBLISH_BLOCK_THRESHOLDS, payload: p.blockThresholds }]),
      { commandId: CMD_PUBLISH_PRICE_MATRIX, payload: p.priceMatrix },
    ];
    const all = [...p.calendar.map((c) => [CLUSTER_CALENDAR, c] as const), ...price.map((c) => [CLUSTER_PRICE, c] as const)];
    return writeComponents(all.map(([cluster, c], i) => stampTime(command(i, cluster, c.commandId, Buffer.from(c.payload, 'hex'), Fc.clusterServerToClient), p.execution)));
  },
  parse(apdu) {
    return parseByRebuilding(
      'GCS01a',
      apdu.content,
      () => {
        const cs = readComponents(apdu.content, 'GCS01a');
        const calendar = cs.filter((c) => c.clusterId === CLUSTER_CALENDAR);
        const price = cs.filter((c) => c.clusterId === CLUSTER_PRICE);
        const first = cs[0];
        const execution = (first && componentTime(first)) ?? fail('bad-value', 'GCS01a: the first command must be Publish Calendar', 0);
        const hex = (c: Component) => toHex(payloadWithoutTime(c));
        const info = price.find((c) => c.commandId === CMD_PUBLISH_TARIFF_INFORMATION);
        const matrix = price.find((c) => c.commandId === CMD_PUBLISH_PRICE_MATRIX);
        const thresholds = price.find((c) => c.commandId === CMD_PUBLISH_BLOCK_THRESHOLDS);
        if (!info || !matrix) return fail('bad-value', 'GCS01a: Publish Tariff Information and Publish Price Matrix are required', 0);
        return {
          execution,
          calendar: calendar.map((c) => ({ commandId: c.commandId, payload: hex(c) })),
          tariffInformation: hex(info),
          ...(thresholds ? { blockThresholds: hex(thresholds) } : {}),
          priceMatrix: hex(matrix),
        };
      },
      (p) => GCS01a.build(p, { counter: apdu.counter }),
    );
  },
};

/** The prices a GSME Publish Price Matrix carries (tier or block entries), in order. */
export function gsmePrices(priceMatrixHex: string): number[] {
  const r = new ByteReader(Buffer.from(priceMatrixHex, 'hex'));
  r.take(16, 'price matrix header'); // provider, issuer event, start time, issuer tariff id
  r.take(3, 'command index, total, sub-payload control');
  const out: number[] = [];
  while (!r.atEnd()) {
    r.u8('tier/block id');
    out.push(r.u32le('price'));
  }
  return out;
}
