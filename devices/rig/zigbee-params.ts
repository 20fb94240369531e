/**
 * A rig device's ZigBee transport parameters (`transport: { kind: zigbee, ... }`): their schema, and the rules
 * across devices (devices on one coordinator share its network, so they must not disagree about it). The
 * inventory (inventory.ts) checks both when it loads a rig, so each problem comes with its file and line; the
 * link factory (zigbee-links.ts) reads the parameters.
 */
import { z } from 'zod';
import { timerDuration } from './durations.ts';

const HEX = (octets: number) => z.string({ error: `${octets * 2} hex digits (quoted)` }).regex(new RegExp(`^[0-9A-Fa-f]{${octets * 2}}$`), `${octets * 2} hex digits`);

/** A device's ZigBee transport parameters, as the rig file gives them. */
export const zigbeeTransportSchema = z.strictObject({
  kind: z.literal('zigbee'),
  coordinator: z
    .string({ error: 'the coordinator: a serial path or tcp://host:port' })
    .min(1, 'the coordinator: a serial path or tcp://host:port')
    .refine((c) => !/^tcp:\/\//i.test(c) || /^tcp:\/\/[^\s/:]+:\d{1,5}$/i.test(c), 'tcp://host:port'),
  adapter: z.enum(['zstack', 'ember', 'deconz', 'zboss', 'zigate']).optional(),
  baud: z.number().int().positive().optional(),
  rtscts: z.boolean().optional(),
  channel: z.number().int().min(11, 'a 2.4 GHz channel, 11-26').max(26, 'a 2.4 GHz channel, 11-26').optional(),
  panId: z
    .union([z.number().int(), z.string().regex(/^0x[0-9A-Fa-f]{1,4}$/, 'a number or 0x followed by hex digits').transform((s) => Number.parseInt(s, 16))])
    .pipe(z.number().min(1, 'a PAN id, 0x0001-0xFFFE').max(0xfffe, 'a PAN id, 0x0001-0xFFFE'))
    .optional(),
  extendedPanId: HEX(8).optional(),
  networkKey: HEX(16).optional(),
  dataDir: z.string().min(1).optional(),
  installCode: z
    .string({ error: 'the install code in hex (quoted)' })
    .regex(/^([0-9A-Fa-f]{12}|[0-9A-Fa-f]{16}|[0-9A-Fa-f]{24}|[0-9A-Fa-f]{32})([0-9A-Fa-f]{4})?$/, 'hex: a 6, 8, 12 or 16-octet install code, with or without its 2-octet CRC')
    .optional(),
  joinTimeout: timerDuration('a duration such as 30s or 2m').optional(),
});

export type ZigbeeRigParams = z.infer<typeof zigbeeTransportSchema>;

/** Parameters of the network itself: devices on one coordinator must not disagree on them. */
export const NETWORK_KEYS = ['adapter', 'baud', 'rtscts', 'channel', 'panId', 'extendedPanId', 'networkKey', 'dataDir'] as const;

/**
 * Rules across a rig's ZigBee devices, on the raw inventory (index i of `devices`): only ESMEs are reached this
 * way, and devices on one coordinator agree about its network. Each problem names the field it is about.
 */
export function zigbeeCrossChecks(devices: readonly unknown[]): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const byCoordinator = new Map<string, { i: number; id: string; params: ZigbeeRigParams }[]>();
  devices.forEach((raw, i) => {
    const d = raw as { id?: unknown; type?: unknown; transport?: { kind?: unknown } } | null;
    if (d?.transport?.kind !== 'zigbee') return;
    if (d.type !== 'ESME') {
      issues.push({ path: ['devices', i, 'type'], message: 'the ZigBee transport reaches ESMEs only (a GSME is reached through the hub\'s Gas Proxy Function, which it does not model)' });
    }
    const r = zigbeeTransportSchema.safeParse(d.transport);
    if (!r.success) return; // the schema reports these
    const list = byCoordinator.get(r.data.coordinator) ?? [];
    list.push({ i, id: String(d.id), params: r.data });
    byCoordinator.set(r.data.coordinator, list);
  });
  for (const [coordinator, list] of byCoordinator) {
    for (const key of NETWORK_KEYS) {
      const first = list.find((d) => d.params[key] !== undefined);
      if (!first) continue;
      for (const d of list) {
        if (d.params[key] !== undefined && d.params[key] !== first.params[key]) {
          issues.push({ path: ['devices', d.i, 'transport', key], message: `${String(d.params[key])} differs from ${String(first.params[key])} given by ${first.id} on the same coordinator ${coordinator}` });
        }
      }
    }
  }
  return issues;
}
