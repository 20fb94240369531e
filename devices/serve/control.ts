/**
 * Management messages for an emulated device on the far end of a link, carried in CONTROL frames (JSON, UTF-8).
 * They exist only for emulators: a real meter acknowledges CONTROL frames and drops them. The harness uses them
 * to re-create the meter between scenarios (provision: EUI, type, start state, trust anchors, clock), to move
 * its simulated clock and to read its state. The emulator pushes its state before every frame it sends and
 * after every frame that changed it, so the harness's copy is current whenever an answer arrives.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';

const eui = z.string().regex(/^[0-9A-F]{16}$/, 'an EUI-64 as 16 upper-case hex digits');
/** A P-256 public key as base64 SubjectPublicKeyInfo DER. */
const spki = z.string().min(1);
const cell = z.strictObject({ eui, ds: spki.optional(), ka: spki.optional() });

export const anchorsSchema = z.strictObject({
  supplier: cell,
  acb: cell,
  networkOperator: cell.optional(),
  /** For SMETS1 meters: the S1SP whose signed instructions they obey. */
  s1sp: z.strictObject({ eui, publicKey: spki }).optional(),
});
export type WireAnchors = z.infer<typeof anchorsSchema>;

export const deviceTypes = ['ESME', 'GSME', 'SMETS1'] as const;
export type DeviceType = (typeof deviceTypes)[number];

export const provisionSchema = z.strictObject({
  op: z.literal('provision'),
  id: z.number().int(),
  eui,
  type: z.enum(deviceTypes),
  twin: z.boolean().default(false),
  fuel: z.enum(['electricity', 'gas']).default('electricity'),
  initial: z.strictObject({ paymentMode: z.enum(['credit', 'prepayment']).optional(), meterBalance: z.number().int().optional() }).default({}),
  /** The meter's clock at provisioning (ISO 8601). */
  clock: z.string(),
  anchors: anchorsSchema.optional(),
  /** Seeded meter defects, for negative-control runs. */
  defects: z.array(z.string()).default([]),
});
export type ProvisionRequest = z.input<typeof provisionSchema>;

export const requestSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('ping'), id: z.number().int() }),
  provisionSchema,
  z.strictObject({ op: z.literal('advance'), id: z.number().int(), ms: z.number().int().nonnegative() }),
  z.strictObject({ op: z.literal('snapshot'), id: z.number().int() }),
]);
export type ControlRequest = z.input<typeof requestSchema>;

export interface DeviceIdentity {
  eui: string;
  type: DeviceType;
  twin: boolean;
  fuel: 'electricity' | 'gas';
  /** base64 SPKI; null for SMETS1 meters (they hold no GBCS keys). */
  keys: { ds: string; ka: string } | null;
}

export type ControlMessage =
  | { op: 'reply'; id: number; ok: true; identity?: DeviceIdentity; state?: unknown; version?: number }
  | { op: 'reply'; id: number; ok: false; error: string }
  | { op: 'state'; eui: string; state: unknown; version: number };

export function encodeControl(m: ControlRequest | ControlMessage): Uint8Array {
  return Buffer.from(JSON.stringify(m), 'utf8');
}

export function decodeControl(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch {
    return null;
  }
}

export function keyToWire(k: KeyObject): string {
  return k.export({ type: 'spki', format: 'der' }).toString('base64');
}

export function keyFromWire(s: string): KeyObject {
  const text = s.trim();
  return text.startsWith('-----BEGIN') ? createPublicKey(text) : createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
}
