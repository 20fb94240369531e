/**
 * GBZ Commands with several components and the From-Date-Time extended header, which multi-command GSME use
 * cases (tariff, prepayment configuration, debt) need, read with the last-component flag checked and the date-time
 * decoded. Extended header control bits (GbzControl, gbz.ts): 0x01 last component, 0x10 a big-endian UTCTime "from
 * date-time" precedes the ZCL frame (future-dating a command that has no implementation-time field of its own).
 * Encrypted components (0x02) appear only in read responses, never in a Command.
 */
import { ByteReader, ByteWriter, hex2, hex4 } from '../bytes.ts';
import { type Execution, decodeZigbeeExecution, encodeZigbeeExecution } from '../datetime.ts';
import { fail } from '../errors.ts';
import { GBZ_PROFILE_ID, GbzControl, MAX_GBZ_COMPONENTS } from '../gbz.ts';

const { last: GBZ_LAST, fromDateTime: GBZ_FROM_DATE_TIME, encrypted: GBZ_ENCRYPTED } = GbzControl;

/** ZCL frame control values GBCS uses. */
export const Fc = {
  /** Cluster-specific, client to server (commands to the meter on its server clusters). */
  clusterClientToServer: 0x01,
  /** Cluster-specific, server to client (Publish commands the meter receives as a client; specific responses). */
  clusterServerToClient: 0x09,
  /** Profile-wide, client to server (Read Attributes; a Default Response to a server-to-client command). */
  profileClientToServer: 0x00,
  /** Profile-wide, server to client (Default Response and Read Attributes Response from the meter's servers). */
  profileServerToClient: 0x08,
  /** Cluster-specific, server to client, default response disabled (Change Payment Mode Response). */
  clusterServerToClientNoDefault: 0x19,
} as const;

export interface Component {
  clusterId: number;
  frameControl: number;
  sequence: number;
  commandId: number;
  /** The From-Date-Time header (UTCTime), when present. */
  from?: Execution;
  payload: Uint8Array;
}

export function readComponents(content: Uint8Array, name: string): Component[] {
  const r = new ByteReader(content);
  const at = r.offset;
  const profile = r.u16('GBZ profile id');
  if (profile !== GBZ_PROFILE_ID) fail('bad-value', `${name}: GBZ profile id 0x${hex4(profile)} (expected 0x0109)`, at);
  const countAt = r.offset;
  const count = r.u8('GBZ component count');
  if (count === 0 || count > MAX_GBZ_COMPONENTS) fail('bad-value', `${name}: GBZ component count ${count}`, countAt);
  const out: Component[] = [];
  for (let i = 0; i < count; i++) {
    const ctlAt = r.offset;
    const control = r.u8('extended header control');
    const last = i === count - 1;
    if ((control & GBZ_LAST) !== (last ? GBZ_LAST : 0)) fail('bad-value', `${name}: component ${i + 1} last-component flag is wrong`, ctlAt);
    if (control & GBZ_ENCRYPTED) fail('unsupported', `${name}: encrypted GBZ component in a command`, ctlAt);
    if (control & ~(GBZ_LAST | GBZ_FROM_DATE_TIME)) fail('bad-value', `${name}: extended header control 0x${hex2(control)}`, ctlAt);
    const clusterId = r.u16('cluster id');
    const lenAt = r.offset;
    const length = r.u16('component length');
    const z = r.window(length, 'GBZ component');
    let from: Execution | undefined;
    if (control & GBZ_FROM_DATE_TIME) from = decodeZigbeeExecution(z.u32('from date-time'));
    if (z.remaining < 3) fail('bad-length', `${name}: ZCL frame shorter than its header`, lenAt);
    out.push({
      clusterId,
      frameControl: z.u8('frame control'),
      sequence: z.u8('sequence number'),
      commandId: z.u8('command id'),
      ...(from ? { from } : {}),
      payload: Uint8Array.from(z.take(z.remaining, 'ZCL payload')),
    });
  }
  r.expectEnd(`${name} GBZ payload`);
  return out;
}

export function writeComponents(components: readonly Component[]): Buffer {
  if (components.length === 0 || components.length > MAX_GBZ_COMPONENTS) throw new RangeError(`a GBZ payload holds 1-${MAX_GBZ_COMPONENTS} components`);
  const w = new ByteWriter().u16(GBZ_PROFILE_ID).u8(components.length);
  components.forEach((c, i) => {
    const control = (i === components.length - 1 ? GBZ_LAST : 0) | (c.from ? GBZ_FROM_DATE_TIME : 0);
    const frame = new ByteWriter();
    if (c.from) frame.u32(encodeZigbeeExecution(c.from));
    frame.u8(c.frameControl).u8(c.sequence).u8(c.commandId).bytes(c.payload);
    const body = frame.finish();
    w.u8(control).u16(c.clusterId).u16(body.length).bytes(body);
  });
  return w.finish();
}

/** A component of a command, numbered in order (GBCS sequences components 0, 1, 2, ...). */
export function command(sequence: number, clusterId: number, commandId: number, payload: Uint8Array, frameControl: number = Fc.clusterClientToServer, from?: Execution): Component {
  return { clusterId, frameControl, sequence, commandId, payload, ...(from ? { from } : {}) };
}

/** The ZCL Default Response a GSME sends for one component of a command. */
export function defaultResponseFor(c: Pick<Component, 'clusterId' | 'frameControl' | 'sequence' | 'commandId'>, status: number): Component {
  // A command the meter received as a server (client to server) is answered server to client, and vice versa.
  const fc = c.frameControl & 0x08 ? Fc.profileClientToServer : Fc.profileServerToClient;
  return { clusterId: c.clusterId, frameControl: fc, sequence: c.sequence, commandId: 0x0b, payload: Uint8Array.of(c.commandId, status) };
}

/** The "not attempted" Default Response GSMEs send for the components after a failed one. */
export function notAttemptedResponseFor(c: Pick<Component, 'clusterId' | 'frameControl' | 'sequence'>): Component {
  return defaultResponseFor({ ...c, commandId: 0xff }, 0x01);
}

/** Reads a ZCL payload with a bounded reader; the callback must consume it exactly. */
export function readPayload<T>(c: Component, what: string, read: (r: ByteReader) => T): T {
  const r = new ByteReader(c.payload);
  const v = read(r);
  r.expectEnd(what);
  return v;
}

/** The payload of a command's only (first) component, read as `readPayload` does; no component is an error. */
export function readFirstPayload<T>(content: Uint8Array, name: string, what: string, read: (r: ByteReader) => T): T {
  const [c] = readComponents(content, name);
  if (!c) return fail('bad-value', `${name}: no component`, 0);
  return readPayload(c, what, read);
}

/** UTCTime implementation times in ZCL payloads: little-endian; Publish commands use 0xFFFFFFFE to cancel. */
export function encodeImplementationTime(e: Execution, neverValue = 0xffffffff): number {
  return e.kind === 'never' ? neverValue : encodeZigbeeExecution(e);
}

export function decodeImplementationTime(v: number, neverValue = 0xffffffff): Execution {
  if (v === neverValue) return { kind: 'never' };
  if (v === 0xffffffff || v === 0xfffffffe) fail('bad-value', `implementation time 0x${v.toString(16)} is not this command's cancel value`, 0);
  return decodeZigbeeExecution(v);
}

/**
 * ZCL commands whose payload carries their own implementation (start) time: where it sits and which value
 * cancels. GBCS future-dates the others with the From-Date-Time header instead.
 */
const TIMED: Record<string, { offset: number; never: number }> = {
  '0705/03': { offset: 4, never: 0xffffffff }, // Emergency Credit Setup: start time
  '0705/06': { offset: 8, never: 0xffffffff }, // Change Payment Mode: implementation time
  '0705/0b': { offset: 8, never: 0xffffffff }, // Set Maximum Credit Limit: implementation time
  '0705/0c': { offset: 8, never: 0xffffffff }, // Set Overall Debt Cap: implementation time
  '0707/00': { offset: 12, never: 0xfffffffe }, // Publish Calendar: start time
  '0707/04': { offset: 12, never: 0xfffffffe }, // Publish Special Days: start time
  '0700/04': { offset: 12, never: 0xffffffff }, // Publish Tariff Information: start time
  '0700/05': { offset: 8, never: 0xfffffffe }, // Publish Price Matrix: start time
  '0700/06': { offset: 8, never: 0xfffffffe }, // Publish Block Thresholds: start time
};

function timedKey(c: Pick<Component, 'clusterId' | 'commandId'>): string {
  return `${c.clusterId.toString(16).padStart(4, '0')}/${c.commandId.toString(16).padStart(2, '0')}`;
}

/** Whether a component executes at a time of its own (so a future-dated GSME raises an 8F66 for it). */
export function isTimed(c: Pick<Component, 'clusterId' | 'commandId' | 'from'>): boolean {
  return c.from !== undefined || TIMED[timedKey(c)] !== undefined;
}

/** The component's implementation time, from its payload or its From-Date-Time header. */
export function componentTime(c: Component): Execution | undefined {
  if (c.from) return c.from;
  const t = TIMED[timedKey(c)];
  if (!t) return undefined;
  if (c.payload.length < t.offset + 4) fail('bad-length', `ZCL command 0x${hex4(c.clusterId)}/${hex2(c.commandId)} too short for its start time`, 0);
  return decodeImplementationTime(Buffer.from(c.payload).readUInt32LE(t.offset), t.never);
}

/** A copy of the component with its implementation time set to `e` (in the payload or the header). */
export function withComponentTime(c: Component, e: Execution): Component {
  const t = TIMED[timedKey(c)];
  if (!t) return { ...c, from: e };
  const payload = Buffer.from(c.payload);
  if (payload.length < t.offset + 4) throw new RangeError(`ZCL command 0x${hex4(c.clusterId)}/${hex2(c.commandId)} too short for its start time`);
  payload.writeUInt32LE(encodeImplementationTime(e, t.never), t.offset);
  return { ...c, payload };
}

/** The payload with its implementation-time field (if it has one) zeroed: what a model keeps verbatim. */
export function payloadWithoutTime(c: Pick<Component, 'clusterId' | 'commandId' | 'payload'>): Buffer {
  const p = Buffer.from(c.payload);
  const t = TIMED[timedKey(c)];
  if (t && p.length >= t.offset + 4) p.fill(0, t.offset, t.offset + 4);
  return p;
}

/** Stamps `e` into the payload of a component that has an implementation-time field; others are unchanged. */
export function stampTime(c: Component, e: Execution): Component {
  return TIMED[timedKey(c)] ? withComponentTime(c, e) : c;
}
