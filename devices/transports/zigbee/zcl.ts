/**
 * The few ZigBee Cluster Library frames this transport builds and reads itself: the ZCL header, Read
 * Attributes and its response, Default Response. Our own codec (not herdsman's) because herdsman's encoder
 * caps a frame at 250 octets and a GBCS Transfer Data can carry 1500; the fake coordinator's emulated meter
 * uses it too, so both ends of the CI path agree by construction and the unit tests pin the octets.
 *
 * ZCL header: frame control (bits 0-1 frame type: 0 global, 1 cluster-specific; bit 2 manufacturer-specific;
 * bit 3 direction: 0 client->server, 1 server->client; bit 4 disable default response), manufacturer code
 * (uint16 LE, only when bit 2), transaction sequence number, command id. Integers are little-endian.
 */

export type ZclDirection = 'client-to-server' | 'server-to-client';

export interface ZclHeader {
  /** Cluster-specific (true) or a global ("foundation") command. */
  specific: boolean;
  direction: ZclDirection;
  disableDefaultResponse: boolean;
  manufacturerCode?: number;
  tsn: number;
  command: number;
}

export interface ZclFrame {
  header: ZclHeader;
  payload: Buffer;
}

export class ZclError extends Error {
  override readonly name = 'ZclError';
}

export function encodeZcl(h: ZclHeader, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const manuf = h.manufacturerCode !== undefined;
  const fc = (h.specific ? 0x01 : 0x00) | (manuf ? 0x04 : 0) | (h.direction === 'server-to-client' ? 0x08 : 0) | (h.disableDefaultResponse ? 0x10 : 0);
  const head = manuf ? Buffer.of(fc, h.manufacturerCode! & 0xff, (h.manufacturerCode! >> 8) & 0xff, h.tsn & 0xff, h.command & 0xff) : Buffer.of(fc, h.tsn & 0xff, h.command & 0xff);
  return Buffer.concat([head, payload]);
}

export function decodeZcl(bytes: Uint8Array): ZclFrame {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 3) throw new ZclError(`a ZCL frame has at least 3 octets, got ${b.length}`);
  const fc = b[0]!;
  const type = fc & 0x03;
  if (type > 1) throw new ZclError(`reserved ZCL frame type ${type}`);
  const manuf = (fc & 0x04) !== 0;
  if (manuf && b.length < 5) throw new ZclError('manufacturer-specific ZCL frame too short');
  const at = manuf ? 3 : 1;
  const header: ZclHeader = {
    specific: type === 1,
    direction: fc & 0x08 ? 'server-to-client' : 'client-to-server',
    disableDefaultResponse: (fc & 0x10) !== 0,
    tsn: b[at]!,
    command: b[at + 1]!,
  };
  if (manuf) header.manufacturerCode = b.readUInt16LE(1);
  return { header, payload: Buffer.from(b.subarray(at + 2)) };
}

/** Global command ids used here. */
export const ZCL_READ_ATTRIBUTES = 0x00;
export const ZCL_READ_ATTRIBUTES_RESPONSE = 0x01;
export const ZCL_DEFAULT_RESPONSE = 0x0b;

export const ZclStatus = {
  SUCCESS: 0x00,
  FAILURE: 0x01,
  NOT_AUTHORIZED: 0x7e,
  MALFORMED_COMMAND: 0x80,
  UNSUP_COMMAND: 0x81,
  UNSUPPORTED_ATTRIBUTE: 0x86,
} as const;

/** ZCL data type ids this codec can carry. */
export const ZclType = {
  BOOLEAN: 0x10,
  BITMAP8: 0x18,
  BITMAP16: 0x19,
  UINT8: 0x20,
  UINT16: 0x21,
  UINT32: 0x23,
  INT32: 0x2b,
  ENUM8: 0x30,
  CHAR_STR: 0x42,
  UTC: 0xe2,
} as const;

export type ZclValue = number | string | boolean;

export interface ZclAttributeRecord {
  id: number;
  status: number;
  type?: number;
  value?: ZclValue;
}

export function encodeValue(type: number, value: ZclValue): Buffer {
  switch (type) {
    case ZclType.BOOLEAN:
      return Buffer.of(value ? 1 : 0);
    case ZclType.BITMAP8:
    case ZclType.UINT8:
    case ZclType.ENUM8:
      return Buffer.of(Number(value) & 0xff);
    case ZclType.BITMAP16:
    case ZclType.UINT16: {
      const b = Buffer.alloc(2);
      b.writeUInt16LE(Number(value) & 0xffff);
      return b;
    }
    case ZclType.UINT32:
    case ZclType.UTC: {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(Number(value) >>> 0);
      return b;
    }
    case ZclType.INT32: {
      const b = Buffer.alloc(4);
      b.writeInt32LE(Number(value) | 0);
      return b;
    }
    case ZclType.CHAR_STR: {
      const s = Buffer.from(String(value), 'utf8');
      if (s.length > 254) throw new ZclError('a ZCL character string is at most 254 octets');
      return Buffer.concat([Buffer.of(s.length), s]);
    }
    default:
      throw new ZclError(`ZCL data type 0x${type.toString(16)} is not supported here`);
  }
}

/** Reads one value of `type` at `at`; returns it and the octets used. */
export function decodeValue(type: number, b: Buffer, at: number): [ZclValue, number] {
  const need = (n: number) => {
    if (at + n > b.length) throw new ZclError(`ZCL value of type 0x${type.toString(16)} truncated`);
  };
  switch (type) {
    case ZclType.BOOLEAN:
      need(1);
      return [b[at] !== 0, 1];
    case ZclType.BITMAP8:
    case ZclType.UINT8:
    case ZclType.ENUM8:
      need(1);
      return [b[at]!, 1];
    case ZclType.BITMAP16:
    case ZclType.UINT16:
      need(2);
      return [b.readUInt16LE(at), 2];
    case ZclType.UINT32:
    case ZclType.UTC:
      need(4);
      return [b.readUInt32LE(at), 4];
    case ZclType.INT32:
      need(4);
      return [b.readInt32LE(at), 4];
    case ZclType.CHAR_STR: {
      need(1);
      const n = b[at]!;
      if (n === 0xff) return ['', 1];
      need(1 + n);
      return [b.subarray(at + 1, at + 1 + n).toString('utf8'), 1 + n];
    }
    default:
      throw new ZclError(`ZCL data type 0x${type.toString(16)} is not supported here`);
  }
}

export function encodeReadAttributes(ids: readonly number[]): Buffer {
  const b = Buffer.alloc(ids.length * 2);
  ids.forEach((id, i) => b.writeUInt16LE(id, i * 2));
  return b;
}

export function decodeReadAttributes(payload: Buffer): number[] {
  if (payload.length % 2 !== 0) throw new ZclError('Read Attributes payload is a list of uint16');
  const ids: number[] = [];
  for (let i = 0; i < payload.length; i += 2) ids.push(payload.readUInt16LE(i));
  return ids;
}

export function encodeReadAttributesResponse(records: readonly ZclAttributeRecord[]): Buffer {
  return Buffer.concat(
    records.map((r) => {
      const head = Buffer.of(r.id & 0xff, r.id >> 8, r.status);
      if (r.status !== ZclStatus.SUCCESS) return head;
      if (r.type === undefined || r.value === undefined) throw new ZclError(`attribute 0x${r.id.toString(16)}: a success record needs a type and a value`);
      return Buffer.concat([head, Buffer.of(r.type), encodeValue(r.type, r.value)]);
    }),
  );
}

export function decodeReadAttributesResponse(payload: Buffer): ZclAttributeRecord[] {
  const out: ZclAttributeRecord[] = [];
  let at = 0;
  while (at < payload.length) {
    if (at + 3 > payload.length) throw new ZclError('Read Attributes Response record truncated');
    const id = payload.readUInt16LE(at);
    const status = payload[at + 2]!;
    at += 3;
    if (status !== ZclStatus.SUCCESS) {
      out.push({ id, status });
      continue;
    }
    if (at >= payload.length) throw new ZclError('Read Attributes Response record has no data type');
    const type = payload[at++]!;
    const [value, used] = decodeValue(type, payload, at);
    at += used;
    out.push({ id, status, type, value });
  }
  return out;
}

export function encodeDefaultResponse(command: number, status: number): Buffer {
  return Buffer.of(command & 0xff, status & 0xff);
}
