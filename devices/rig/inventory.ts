/**
 * A rig inventory: the devices on a bench (or emulated in processes the harness starts), kept in version
 * control as YAML (rigs/*.yaml). Following labgrid's split: what a device is (type, EUI, keys, capabilities,
 * tags: the resource), how to reach it (transport: the driver), and how to bring it back (power cycle: the
 * strategy). Every bad field is reported with its file and line, all at once.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { readYamlSource, ScenarioFileError } from '../../harness/scenarios/yaml-source.ts';
import { boundedDuration, durationMs, timerDuration } from './durations.ts';
import { zigbeeCrossChecks, zigbeeTransportSchema } from './zigbee-params.ts';

export { durationMs };

const EUI = z.string().regex(/^[0-9A-Fa-f]{16}$/, 'an EUI-64: 16 hex digits');
/** A run renews its leases every third of their TTL, but at most once a second: a shorter TTL lapses while held. */
export const MIN_LEASE_TTL_MS = 3000;

const serialTransport = z.strictObject({
  kind: z.literal('serial'),
  /** The device's serial line on this host. */
  path: z.string().min(1),
  baud: z.number().int().positive().default(115200),
});
/** An emulator the harness starts itself (`device serve --pty`), one long-lived process per device. */
const processSerialTransport = z.strictObject({
  kind: z.literal('process-serial'),
  baud: z.number().int().positive().default(115200),
});

const keysSchema = z.union([
  z.strictObject({ seed: z.string().min(1) }),
  /** Real meters: their Device certificates (PEM) or public keys, relative to the rig file. */
  z.strictObject({ ds: z.string().min(1), ka: z.string().min(1) }),
]);

const deviceSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash, underscore'),
  kind: z.enum(['emulated', 'hardware']),
  type: z.enum(['ESME', 'GSME', 'SMETS1']),
  /** SMETS1 meters: which fuel (ESMEs are electricity, GSMEs gas). */
  fuel: z.enum(['electricity', 'gas']).optional(),
  transport: z.discriminatedUnion('kind', [serialTransport, processSerialTransport, zigbeeTransportSchema]),
  eui: EUI,
  keys: keysSchema.optional(),
  capabilities: z.array(z.string().min(1)).default([]),
  tags: z.array(z.string().min(1)).default([]),
  health: z.strictObject({ timeout: timerDuration().default('5s') }).default({ timeout: '5s' }),
  powerCycle: z.strictObject({ command: z.string().min(1), timeout: timerDuration().default('60s') }).optional(),
});

const rigSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash, underscore'),
  description: z.string().optional(),
  leases: z
    .strictObject({
      dir: z.string().optional(),
      ttl: boundedDuration(MIN_LEASE_TTL_MS, 'a lease TTL of at least 3s (a run renews it every third of it, at most once a second) and at most 24 days').default('30m'),
      wait: boundedDuration(0, 'a duration of at most 24 days').default('0s'),
    })
    .default({ ttl: '30m', wait: '0s' }),
  /** Per-device log files go here (default .smets-hil/rig-logs/<name>). */
  logs: z.string().optional(),
  /** Record every frame on every device link as JSON lines in this folder. */
  record: z.string().optional(),
  devices: z.array(deviceSchema).min(1, 'a rig has at least one device'),
});

interface Issue {
  path: (string | number)[];
  message: string;
}

/** Rules across fields, checked on the raw document so they are reported even when other fields are invalid. */
function crossChecks(raw: unknown): Issue[] {
  const issues: Issue[] = [];
  const devices = (raw as { devices?: unknown } | null)?.devices;
  if (!Array.isArray(devices)) return issues;
  const ids = new Map<string, number>();
  // One meter is one device: two entries for it would be leased, and driven, as two.
  const euis = new Map<string, number>();
  const paths = new Map<string, number>();
  devices.forEach((d: Record<string, unknown> | null, i) => {
    if (!d || typeof d !== 'object') return;
    const at = (...path: (string | number)[]) => ['devices', i, ...path];
    const add = (path: (string | number)[], message: string) => issues.push({ path, message });
    const transport = (d.transport ?? {}) as { kind?: unknown; path?: unknown };
    const keys = d.keys as Record<string, unknown> | undefined;
    const unique = (seen: Map<string, number>, value: unknown, path: (string | number)[], what: string, key = (v: string) => v) => {
      if (typeof value !== 'string') return;
      const first = seen.get(key(value));
      if (first === undefined) seen.set(key(value), i);
      else add(path, `duplicate ${what} ${value} (also devices[${first}])`);
    };
    unique(ids, d.id, at('id'), 'device id');
    unique(euis, d.eui, at('eui'), 'EUI', (eui) => eui.toUpperCase());
    if (transport.kind === 'serial') unique(paths, transport.path, at('transport', 'path'), 'serial path');
    if (d.type === 'SMETS1' && !d.fuel) add(at('type'), 'a SMETS1 device needs fuel: electricity or gas');
    if ((d.type === 'ESME' || d.type === 'GSME') && d.fuel && d.fuel !== (d.type === 'GSME' ? 'gas' : 'electricity')) add(at('fuel'), `an ${d.type} is ${d.type === 'GSME' ? 'gas' : 'electricity'}`);
    if (d.kind === 'hardware' && transport.kind === 'process-serial') add(at('transport', 'kind'), 'process-serial starts an emulator: a hardware device needs serial or zigbee');
    if (d.kind === 'hardware' && d.type !== 'SMETS1' && !(keys && 'ds' in keys)) add(at(d.keys ? 'keys' : 'kind'), 'a real SMETS2+ meter needs its Device certificates: keys: { ds: FILE, ka: FILE }');
    if (d.kind === 'emulated' && keys && 'ds' in keys) add(at('keys'), 'an emulated meter derives its keys from a seed: keys: { seed: TEXT }');
  });
  // A ZigBee coordinator on a serial line that a serial meter also uses: the two drivers would fight over the port.
  devices.forEach((d: Record<string, unknown> | null, i) => {
    const transport = (d?.transport ?? {}) as { kind?: unknown; coordinator?: unknown };
    if (transport.kind !== 'zigbee' || typeof transport.coordinator !== 'string') return;
    const meter = paths.get(transport.coordinator);
    if (meter !== undefined) issues.push({ path: ['devices', i, 'transport', 'coordinator'], message: `serial line ${transport.coordinator} is also devices[${meter}]'s (a serial meter): a coordinator needs a line of its own` });
  });
  issues.push(...zigbeeCrossChecks(devices));
  return issues;
}

export type RigDevice = z.infer<typeof deviceSchema>;
export type Rig = z.infer<typeof rigSchema> & { file: string; dir: string };

export class RigFileError extends Error {
  override readonly name = 'RigFileError';
  constructor(readonly problems: readonly ScenarioFileError[]) {
    super(problems.map((p) => p.message).join('\n'));
  }
}

export function loadRig(file: string, text?: string): Rig {
  let source;
  try {
    source = readYamlSource(file, text);
  } catch (e) {
    if (e instanceof ScenarioFileError) throw new RigFileError([e]);
    throw e;
  }
  const parsed = rigSchema.safeParse(source.value);
  const issues: Issue[] = [...(parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path.filter((k): k is string | number => typeof k !== 'symbol'), message: i.message }))), ...crossChecks(source.value)];
  if (!parsed.success || issues.length) {
    const problems = issues.map((i) => {
      const path = i.path;
      const where = path.length ? `${path.map((k, n) => (typeof k === 'number' ? `[${k}]` : n ? `.${k}` : k)).join('')}: ` : '';
      return new ScenarioFileError(file, source.lineOf(path), `${where}${i.message}`);
    });
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new RigFileError(problems);
  }
  return { ...parsed.data!, file, dir: dirname(resolve(file)) };
}

/** A path in the rig file, relative to the file. */
export function rigPath(rig: Rig, p: string): string {
  return resolve(rig.dir, p);
}
