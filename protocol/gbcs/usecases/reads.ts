/**
 * SRV 4.1.1 Read Instantaneous Import Registers and 4.3 Read Instantaneous Prepay Values: non-critical reads.
 * - ECS17b / ECS19 (ESME): ACTION get_protected_attributes (method 1) on a Data Protection object (class 30,
 *   0-0:43.2.8.255 / 0-0:43.2.1.255) naming the GBCS object to read (0-0:94.44.34.10 / 34.30) and the
 *   protection to apply, which binds the originator counter and both EUIs.
 * - GCS13a / GCS14 (GSME): ZCL Read Attributes on Metering (0x0702), and on Price (0x0700) plus Prepayment
 *   (0x0705).
 *
 * [model] Real meters encrypt these responses for the requesting User's key-agreement key. The emulated meters
 * answer in the clear: an ESME returns one structure of values as the ACTION's return data (layouts below); a
 * GSME returns plain Read Attributes Responses (status 0x86 for attributes it does not model).
 */
import { euiToBytes } from '../../smki/eui.ts';
import { ByteReader, ByteWriter } from '../bytes.ts';
import { type DlmsData } from '../dlms.ts';
import { type Decoded, decodeResult, fail } from '../errors.ts';
import { CLUSTER_PREPAYMENT } from './payment-mode.ts';
import { type BuildContext, decodeRequest, encodeRequest, int, invokeIdFor, parseByRebuilding, type UseCaseCodec } from './command-codec.ts';
import { type Component, command, Fc, readComponents, writeComponents } from './gbz-components.ts';
import { CLUSTER_METERING } from './supply.ts';
import { CLUSTER_PRICE } from './tariff.ts';

/** Reads take no parameters: what they read is fixed by the use case. */
export type ReadRequest = Record<string, never>;

const CLASS_DATA_PROTECTION = 0x001e;
const METHOD_GET_PROTECTED_ATTRIBUTES = 1;

function protectedRead(dataProtection: string, object: string, ctx: BuildContext): Buffer {
  if (!ctx.originator || !ctx.recipient) throw new Error('a protected-attributes read names its originator and recipient');
  const os = (value: Uint8Array): DlmsData => ({ type: 'octet-string', value });
  const transactionId = new ByteWriter().u8(0x04).u64(ctx.counter).finish();
  const parameter: DlmsData = {
    type: 'structure',
    items: [
      // the object to read: class 1 (Data), its OBIS code, attribute 2, data index 0, no selective access
      { type: 'array', items: [{ type: 'structure', items: [{ type: 'long-unsigned', value: 1 }, os(Buffer.from(object, 'hex')), int(2), { type: 'long-unsigned', value: 0 }, { type: 'structure', items: [{ type: 'enum', value: 0 }, { type: 'null' }] }] }] },
      // how to protect the answer: for the originator, bound to its counter
      {
        type: 'array',
        items: [
          {
            type: 'structure',
            items: [
              { type: 'enum', value: 2 },
              { type: 'structure', items: [os(transactionId), os(euiToBytes(ctx.originator)), os(euiToBytes(ctx.recipient)), os(new Uint8Array(0)), { type: 'structure', items: [{ type: 'enum', value: 2 }, { type: 'structure', items: [os(Uint8Array.of(2)), os(new Uint8Array(0))] }] }] },
            ],
          },
        ],
      },
    ],
  };
  return encodeRequest({
    invokeId: invokeIdFor(ctx.counter),
    specs: [{ kind: 'action', target: { classId: CLASS_DATA_PROTECTION, instance: dataProtection, index: METHOD_GET_PROTECTED_ATTRIBUTES } }],
    data: [parameter],
  });
}

function esmeReadCodec(name: string, code: number, srv: string, dataProtection: string, object: string): UseCaseCodec<ReadRequest> {
  const codec: UseCaseCodec<ReadRequest> = {
    name,
    code,
    srv,
    family: 'esme',
    critical: false,
    responseDateTime: true,
    build: (_p, ctx) => protectedRead(dataProtection, object, ctx),
    parse(apdu) {
      return parseByRebuilding(
        name,
        apdu.content,
        () => {
          decodeRequest(apdu.content, name);
          return {};
        },
        (p) => codec.build(p, { counter: apdu.counter, ...(apdu.originator ? { originator: apdu.originator } : {}), ...(apdu.recipient ? { recipient: apdu.recipient } : {}) }),
      );
    },
  };
  return codec;
}

export const ECS17b = esmeReadCodec('ECS17b', 0x0027, '4.1.1', '00002B0208FF', '00005E2C220A');
export const ECS19 = esmeReadCodec('ECS19', 0x002d, '4.3', '00002B0201FF', '00005E2C221E');

export const CMD_READ_ATTRIBUTES = 0x00;
export const CMD_READ_ATTRIBUTES_RESPONSE = 0x01;

/** Attributes each GSME read asks for, per cluster, in wire order. */
const GCS13A_READ: [number, number[]][] = [[CLUSTER_METERING, [0x0302, 0x0301, 0x0300, 0x0000]]];
const GCS14_READ: [number, number[]][] = [
  [CLUSTER_PRICE, [0x0617, 0x0616]],
  [CLUSTER_PREPAYMENT, [0x0005, 0x0002, 0x0001, 0x0231, 0x0211, 0x0221]],
];

function gsmeReadCodec(name: string, code: number, srv: string, reads: [number, number[]][]): UseCaseCodec<ReadRequest> {
  const codec: UseCaseCodec<ReadRequest> = {
    name,
    code,
    srv,
    family: 'gsme',
    critical: false,
    responseDateTime: true,
    build() {
      return writeComponents(
        reads.map(([cluster, ids], i) => {
          const w = new ByteWriter();
          for (const id of ids) w.u16le(id);
          return command(i, cluster, CMD_READ_ATTRIBUTES, w.finish(), Fc.profileClientToServer);
        }),
      );
    },
    parse(apdu) {
      return parseByRebuilding(
        name,
        apdu.content,
        () => {
          readComponents(apdu.content, name);
          return {};
        },
        (p) => codec.build(p, { counter: apdu.counter }),
      );
    },
  };
  return codec;
}

export const GCS13a = gsmeReadCodec('GCS13a', 0x0074, '4.1.1', GCS13A_READ);
export const GCS14 = gsmeReadCodec('GCS14', 0x0075, '4.3', GCS14_READ);

/** The attribute ids a GSME read component asks for. */
export function requestedAttributes(c: Component): number[] {
  const r = new ByteReader(c.payload);
  const ids: number[] = [];
  while (!r.atEnd()) ids.push(r.u16le('attribute id'));
  return ids;
}

// ---------------------------------------------------------------- responses (in the clear: see above)

/** What an ESME returns for ECS17b: active import energy, in Wh. */
export interface ImportRegisters {
  activeImportWh: number;
}

/** What either meter returns for a 4.3 read. */
export interface PrepayValues {
  paymentMode: 'credit' | 'prepayment';
  meterBalance: number;
  emergencyCreditBalance: number;
  accumulatedDebt: number;
  timeDebt1: number;
  timeDebt2: number;
  paymentDebt: number;
}

export function esmeImportRegistersData(v: ImportRegisters): DlmsData {
  return { type: 'structure', items: [{ type: 'double-long-unsigned', value: v.activeImportWh >>> 0 }] };
}

export function esmePrepayValuesData(v: PrepayValues): DlmsData {
  const dl = (value: number): DlmsData => ({ type: 'double-long', value });
  return {
    type: 'structure',
    items: [{ type: 'enum', value: v.paymentMode === 'credit' ? 1 : 2 }, dl(v.meterBalance), dl(v.emergencyCreditBalance), dl(v.accumulatedDebt), dl(v.timeDebt1), dl(v.timeDebt2), dl(v.paymentDebt)],
  };
}

export function readEsmeImportRegisters(d: DlmsData): Decoded<ImportRegisters> {
  return decodeResult(() => {
    const [v] = d.type === 'structure' && d.items.length === 1 ? d.items : [];
    if (v?.type !== 'double-long-unsigned') return fail('bad-value', 'import registers: expected structure{double-long-unsigned}', 0);
    return { activeImportWh: v.value };
  });
}

export function readEsmePrepayValues(d: DlmsData): Decoded<PrepayValues> {
  return decodeResult(() => {
    if (d.type !== 'structure' || d.items.length !== 7) return fail('bad-value', 'prepay values: expected a structure of 7', 0);
    const [mode, ...rest] = d.items;
    const nums = rest.map((x) => (x.type === 'double-long' ? x.value : fail('bad-value', 'prepay values: expected double-long', 0)));
    if (mode?.type !== 'enum' || (mode.value !== 1 && mode.value !== 2)) return fail('bad-value', 'prepay values: payment mode', 0);
    const [meterBalance, emergencyCreditBalance, accumulatedDebt, timeDebt1, timeDebt2, paymentDebt] = nums as [number, number, number, number, number, number];
    return { paymentMode: mode.value === 1 ? 'credit' : 'prepayment', meterBalance, emergencyCreditBalance, accumulatedDebt, timeDebt1, timeDebt2, paymentDebt };
  });
}

/** ZCL data types used in the GSME read responses. */
export const ZclType = { enum8: 0x30, uint24: 0x22, uint32: 0x23, uint48: 0x25, int32: 0x2b } as const;
const TYPE_SIZE: Record<number, number> = { 0x30: 1, 0x22: 3, 0x23: 4, 0x25: 6, 0x2b: 4 };
export const ZCL_UNSUPPORTED_ATTRIBUTE = 0x86;

export type AttributeRecord = { id: number; status: 0; type: number; value: number } | { id: number; status: number };

export function readAttributesResponse(request: Component, records: AttributeRecord[]): Component {
  const w = new ByteWriter();
  for (const rec of records) {
    w.u16le(rec.id).u8(rec.status);
    if (!('type' in rec)) continue;
    const size = TYPE_SIZE[rec.type];
    if (size === undefined) throw new RangeError(`ZCL type 0x${rec.type.toString(16)} not modelled`);
    w.u8(rec.type);
    const b = Buffer.alloc(6);
    if (rec.type === ZclType.int32) b.writeInt32LE(rec.value);
    else b.writeUIntLE(rec.value, 0, size);
    w.bytes(b.subarray(0, size));
  }
  return { clusterId: request.clusterId, frameControl: Fc.profileServerToClient, sequence: request.sequence, commandId: CMD_READ_ATTRIBUTES_RESPONSE, payload: w.finish() };
}

export function decodeReadAttributesResponse(payload: Uint8Array): Decoded<AttributeRecord[]> {
  return decodeResult(() => {
    const r = new ByteReader(payload);
    const out: AttributeRecord[] = [];
    while (!r.atEnd()) {
      const id = r.u16le('attribute id');
      const status = r.u8('status');
      if (status !== 0) {
        out.push({ id, status });
        continue;
      }
      const at = r.offset;
      const type = r.u8('data type');
      const size = TYPE_SIZE[type] ?? fail('unsupported', `ZCL data type 0x${type.toString(16)}`, at);
      const b = Buffer.from(r.take(size, 'attribute value'));
      out.push({ id, status: 0, type, value: type === ZclType.int32 ? b.readInt32LE(0) : b.readUIntLE(0, size) });
    }
    return out;
  });
}
