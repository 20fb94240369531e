/**
 * GBZ: how GBCS carries ZigBee Cluster Library frames to and from a GSME. A GBZ payload is a use-case header
 * (profile 0x0109, number of components) followed by components, each with an extended header (control octet,
 * cluster id, length) and one ZCL frame. Multi-octet GBZ header fields are big-endian; ZCL payload fields are
 * little-endian, as in ZigBee.
 */
import { ByteReader, ByteWriter, hex4 } from './bytes.ts';
import { fail } from './errors.ts';

export const GBZ_PROFILE_ID = 0x0109;

export const ZclFrameControl = {
  /** Cluster-specific command, client to server (what a GBCS command carries). */
  clientToServer: 0x01,
  /** Cluster-specific, server to client, default response disabled (what a GSME response carries). */
  serverToClient: 0x19,
} as const;

export interface ZclFrame {
  frameControl: number;
  sequence: number;
  commandId: number;
  payload: Uint8Array;
}

/** Extended header control bits. */
export const GbzControl = {
  /** The last component of the use case. */
  last: 0x01,
  /** The ZCL payload is encrypted for the User: a 2-octet additional header comes before the ZCL header. */
  encrypted: 0x02,
  /** A 4-octet From Date Time comes before the ZCL header. */
  fromDateTime: 0x10,
} as const;
const KNOWN_CONTROL_BITS = GbzControl.last | GbzControl.encrypted | GbzControl.fromDateTime;

export interface GbzComponent {
  /** Extended header control (GbzControl bits); 0x01 marks the last (here, only) component of a use case. */
  control: number;
  clusterId: number;
  /** With GbzControl.encrypted: the additional header (its control and frame counter octets). */
  additionalHeader?: Uint8Array;
  /** With GbzControl.fromDateTime: the From Date Time (ZigBee UTCTime). */
  fromDateTime?: number;
  /** With GbzControl.encrypted the payload is the ciphered information, opaque without the User's key. */
  frame: ZclFrame;
}

export interface GbzPayload {
  components: GbzComponent[];
}

/**
 * Components a GBZ payload may hold, for every reader (gbz.ts and usecases/gbz-components.ts): most use cases have
 * a handful, a GSME tariff (GCS01a) dozens, each answered by a component of its own; this bounds hostile counts.
 */
export const MAX_GBZ_COMPONENTS = 64;

export function readGbz(r: ByteReader): GbzPayload {
  const at = r.offset;
  const profile = r.u16('GBZ profile id');
  if (profile !== GBZ_PROFILE_ID) fail('bad-value', `GBZ profile id 0x${hex4(profile)} (expected 0x0109)`, at);
  const countAt = r.offset;
  const count = r.u8('GBZ component count');
  if (count === 0 || count > MAX_GBZ_COMPONENTS) fail('bad-value', `GBZ component count ${count}`, countAt);
  const components: GbzComponent[] = [];
  for (let i = 0; i < count; i++) {
    const controlAt = r.offset;
    const control = r.u8('extended header control');
    if (control & ~KNOWN_CONTROL_BITS) fail('bad-value', `extended header control 0x${control.toString(16).padStart(2, '0')}`, controlAt);
    if (control & GbzControl.encrypted && control & GbzControl.fromDateTime) fail('bad-value', 'an extended header both encrypted and with a From Date Time', controlAt);
    const clusterId = r.u16('extended header cluster id');
    const lenAt = r.offset;
    const length = r.u16('extended header command length');
    const z = r.window(length, 'GBZ component');
    // What comes before the ZCL header, as the control octet says.
    const additionalHeader = control & GbzControl.encrypted ? Uint8Array.from(z.take(2, 'additional header')) : undefined;
    const fromDateTime = control & GbzControl.fromDateTime ? z.u32('From Date Time') : undefined;
    if (z.remaining < 3) fail('bad-length', `GBZ component of ${length} octets is shorter than its ZCL header`, lenAt);
    components.push({
      control,
      clusterId,
      ...(additionalHeader ? { additionalHeader } : {}),
      ...(fromDateTime !== undefined ? { fromDateTime } : {}),
      frame: {
        frameControl: z.u8('ZCL frame control'),
        sequence: z.u8('ZCL sequence number'),
        commandId: z.u8('ZCL command id'),
        payload: Uint8Array.from(z.take(z.remaining, 'ZCL payload')),
      },
    });
  }
  return { components };
}

export function writeGbz(w: ByteWriter, gbz: GbzPayload): void {
  w.u16(GBZ_PROFILE_ID).u8(gbz.components.length);
  for (const c of gbz.components) {
    const f = c.frame;
    if (Boolean(c.control & GbzControl.encrypted) !== Boolean(c.additionalHeader) || Boolean(c.control & GbzControl.fromDateTime) !== (c.fromDateTime !== undefined)) {
      throw new Error('GBZ component: its control octet and the headers it carries disagree');
    }
    const before = (c.additionalHeader?.length ?? 0) + (c.fromDateTime !== undefined ? 4 : 0);
    w.u8(c.control).u16(c.clusterId).u16(before + 3 + f.payload.length);
    if (c.additionalHeader) w.bytes(c.additionalHeader);
    if (c.fromDateTime !== undefined) w.u32(c.fromDateTime);
    w.u8(f.frameControl).u8(f.sequence).u8(f.commandId).bytes(f.payload);
  }
}
