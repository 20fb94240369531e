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

export interface GbzComponent {
  /** Extended header control: 0x01 marks the last (here, only) component of a use case. */
  control: number;
  clusterId: number;
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
    const control = r.u8('extended header control');
    const clusterId = r.u16('extended header cluster id');
    const lenAt = r.offset;
    const length = r.u16('extended header command length');
    if (length < 3) fail('bad-length', `ZCL frame of ${length} octets is shorter than its header`, lenAt);
    const z = r.window(length, 'ZCL frame');
    components.push({
      control,
      clusterId,
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
    w.u8(c.control).u16(c.clusterId).u16(3 + f.payload.length).u8(f.frameControl).u8(f.sequence).u8(f.commandId).bytes(f.payload);
  }
}
