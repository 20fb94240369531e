/**
 * `smets-hil device serve`: an emulated meter on the device end of a serial line (see README, "Serial wire
 * format"), for rigs and for testing the harness's serial path. Events are JSON lines on stdout; the first is
 * {"event":"ready",...} with the meter's EUI and public keys.
 *
 * `smets-hil rig who|lease|renew|release|check|validate`: shared rigs (devices/rig).
 */
import { dirname } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { meterClockProblem } from '../../devices/clock.ts';
import { makeDirectory } from '../../devices/directories.ts';
import { durationMs, loadRig, type Rig, RigFileError, rigPath } from '../../devices/rig/inventory.ts';
import { currentHolder, defaultLeaseDir, type Holder, type Lease, LeaseStore } from '../../devices/rig/leases.ts';
import { RigSession } from '../../devices/rig/session.ts';
import { ZigbeeRigLinks } from '../../devices/rig/zigbee-links.ts';
import type { WireAnchors } from '../../devices/serve/control.ts';
import { StateFileMismatchError } from '../../devices/serve/device-server.ts';
import { parseAnchors, serveDevice } from '../../devices/serve/serve-process.ts';
import { lockStateFile, StateDirInUse } from '../../emulator/state-lock.ts';
import { EuiError, parseEui } from '../../protocol/smki/eui.ts';
import { CliExit, EXIT } from '../cli-exit.ts';
import { herdsmanErrorsToStderr } from './run.ts';
import { isoDateTimeArg, readText } from './inputs.ts';

interface ServeArgs {
  type: 'esme' | 'gsme' | 'smets1';
  serial?: string;
  pty: boolean;
  baud: number;
  eui: string;
  seed: string;
  twin: boolean;
  fuel?: 'electricity' | 'gas';
  anchors?: string;
  state?: string;
  clock?: string;
  exitWithStdin: boolean;
}

const serve: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'run an emulated meter on the device end of a serial line',
  builder: (y: Argv) =>
    y
      .option('type', { type: 'string', requiresArg: true, choices: ['esme', 'gsme', 'smets1'] as const, demandOption: true, describe: 'the meter to emulate' })
      .option('serial', { type: 'string', requiresArg: true, describe: 'serial line to serve on (e.g. /dev/ttyUSB0, /dev/pts/3)' })
      .option('pty', { type: 'boolean', default: false, describe: 'make a pty pair with socat and serve on one end; the other is reported as "peer"' })
      .option('baud', { type: 'number', requiresArg: true, default: 115200, describe: 'line speed' })
      .option('eui', { type: 'string', requiresArg: true, default: '00DB000000000001', describe: "the meter's EUI-64 until a harness provisions another" })
      .option('seed', { type: 'string', requiresArg: true, default: 'smets-hil', describe: "the meter's DS and KA keys derive from this seed and its EUI" })
      .option('twin', { type: 'boolean', default: false, describe: 'ESME: a twin-element meter' })
      .option('fuel', { type: 'string', requiresArg: true, choices: ['electricity', 'gas'] as const, describe: 'SMETS1: electricity (default) or gas' })
      .option('anchors', { type: 'string', requiresArg: true, describe: 'trust anchors JSON (supplier, acb, networkOperator, s1sp: EUIs and base64 SPKI or PEM keys); a harness may provision them over the line instead' })
      .option('state', { type: 'string', requiresArg: true, describe: 'keep the meter (definition and state) in this file across restarts' })
      .option('clock', { type: 'string', requiresArg: true, describe: "the meter's clock at start (ISO-8601; default now)" })
      .option('exit-with-stdin', { type: 'boolean', default: false, describe: 'exit when standard input closes (for a parent process that starts emulators)' })
      .check((a) => {
        if (!a.serial === !a.pty) throw new Error('give either --serial PATH or --pty');
        if (a.twin && a.type !== 'esme') throw new Error('--twin is for --type esme (only an ESME has a second element)');
        if (a.fuel && a.type !== 'smets1') throw new Error('--fuel is for --type smets1 (an ESME is electricity, a GSME gas)');
        if (!Number.isInteger(a.baud) || (a.baud as number) < 1) throw new Error(`--baud ${a.baud}: a positive integer`);
        return true;
      }) as unknown as Argv<ServeArgs>,
  handler: async (args) => {
    let eui;
    try {
      eui = parseEui(args.eui);
    } catch (e) {
      if (e instanceof EuiError) throw new CliExit(EXIT.usage, `--eui: ${e.message}`);
      throw e;
    }
    let clock: Date | undefined;
    if (args.clock) {
      clock = isoDateTimeArg(args.clock, 'clock');
      const problem = meterClockProblem(clock.getTime());
      if (problem) throw new CliExit(EXIT.usage, `--clock ${args.clock}: ${problem}`);
    }
    // A missing or malformed anchors file is the user's to fix (exit 2), not a failure to serve.
    let anchors: WireAnchors | undefined;
    if (args.anchors) {
      try {
        anchors = parseAnchors(readText(args.anchors, 'the trust anchors file'));
      } catch (e) {
        if (e instanceof RangeError) throw new CliExit(EXIT.usage, `--anchors ${args.anchors}: ${e.message}`);
        throw e;
      }
    }
    // One process per state file: two would each keep their own meter and write it over the other's, and a
    // Command one of them executed would execute again after a restart.
    let unlock = () => undefined as void;
    if (args.state) {
      try {
        makeDirectory(dirname(args.state));
        unlock = lockStateFile(args.state);
      } catch (e) {
        throw new CliExit(EXIT.infrastructure, `device serve: ${e instanceof StateDirInUse ? '' : `cannot write the state file ${args.state}: `}${(e as Error).message}`);
      }
    }
    try {
      await serveDevice({
        type: args.type === 'esme' ? 'ESME' : args.type === 'gsme' ? 'GSME' : 'SMETS1',
        ...(args.serial ? { serial: args.serial } : {}),
        pty: args.pty,
        baudRate: args.baud,
        eui,
        seed: args.seed,
        twin: args.twin,
        ...(args.fuel ? { fuel: args.fuel } : {}),
        ...(anchors ? { anchors } : {}),
        ...(args.state ? { statePath: args.state } : {}),
        ...(clock ? { clock } : {}),
        exitWithStdin: args.exitWithStdin,
      });
    } catch (e) {
      // A state file of another meter is the user's to fix (exit 2), not a failure to serve.
      if (e instanceof StateFileMismatchError) throw new CliExit(EXIT.usage, `device serve: ${e.message}`);
      throw new CliExit(EXIT.infrastructure, `device serve: ${(e as Error).message}`);
    } finally {
      unlock();
    }
  },
};

export const deviceCommand: CommandModule = {
  command: 'device',
  describe: 'emulated meters on serial lines (device serve)',
  builder: (y: Argv) => y.command(serve as CommandModule).demandCommand(1, 'name a device command: serve'),
  handler: () => undefined,
};

interface RigArgs {
  rig?: string;
  leaseDir?: string;
  devices: string[];
  holder?: string;
  ttl: string;
  force: boolean;
  json: boolean;
  files: string[];
}

function rigOf(file: string | undefined): Rig {
  if (!file) throw new CliExit(EXIT.usage, 'name the rig: --rig FILE');
  try {
    return loadRig(file);
  } catch (e) {
    if (e instanceof RigFileError) throw new CliExit(EXIT.usage, `rig file is invalid:\n${e.message}`);
    throw e;
  }
}

function storeFor(args: RigArgs, rig: Rig | null): LeaseStore {
  return new LeaseStore(args.leaseDir ?? (rig?.leases.dir ? rigPath(rig, rig.leases.dir) : defaultLeaseDir()));
}

/** A person's lease: no process to watch, it lasts its TTL. */
function personHolder(name: string | undefined): Holder {
  return { ...currentHolder(name), pid: 0 };
}

/** The longest lease: a bench device held longer is one nobody else can use. */
const MAX_LEASE_MS = 7 * 86_400_000;

function durationArg(text: string): number {
  let ms: number;
  try {
    ms = durationMs(text);
  } catch {
    throw new CliExit(EXIT.usage, `--ttl ${text}: a duration such as 30m, 2h or 7d`);
  }
  if (!(ms > 0 && ms <= MAX_LEASE_MS)) throw new CliExit(EXIT.usage, `--ttl ${text}: a lease lasts more than 0 and at most 7d`);
  return ms;
}

function devicesOf(rig: Rig, ids: string[]): string[] {
  const known = new Set(rig.devices.map((d) => d.id));
  for (const id of ids) if (!known.has(id)) throw new CliExit(EXIT.usage, `no device ${id} in rig ${rig.name} (has ${[...known].join(', ')})`);
  return ids.length ? ids : [...known];
}

const leaseOptions = (y: Argv) =>
  y
    .option('rig', { type: 'string', requiresArg: true, describe: 'the rig inventory (YAML)' })
    .option('lease-dir', { type: 'string', requiresArg: true, describe: 'where leases live (default: the rig file\'s leases.dir, $SMETS_HIL_LEASE_DIR or <tmp>/smets-hil-leases)' })
    .option('holder', { type: 'string', requiresArg: true, describe: 'who holds the lease (default $SMETS_HIL_HOLDER or $USER)' });

const who: CommandModule<object, RigArgs> = {
  command: 'who',
  describe: 'who holds which rig device, and which are out of service',
  builder: (y: Argv) => leaseOptions(y).option('json', { type: 'boolean', default: false }) as unknown as Argv<RigArgs>,
  handler: (args) => {
    const rig = args.rig ? rigOf(args.rig) : null;
    const store = storeFor(args, rig);
    const rows = rig
      ? rig.devices.map((d) => ({ rig: rig.name, device: d.id, lease: store.holderOf(rig.name, d.id), health: store.health(rig.name, d.id) }))
      : store.leases().map((l) => ({ rig: l.rig, device: l.device, lease: l as Lease | null, health: store.health(l.rig, l.device) }));
    store.close();
    if (args.json) {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      return;
    }
    const table = [['RIG', 'DEVICE', 'HOLDER', 'SINCE', 'EXPIRES', 'HEALTH']];
    for (const r of rows) {
      const l = r.lease;
      table.push([
        r.rig,
        r.device,
        l ? `${l.holder.name}${l.holder.pid ? ` (pid ${l.holder.pid})` : ''}@${l.holder.host}` : 'free',
        l ? new Date(l.acquiredAt).toISOString() : '',
        l ? new Date(l.expiresAt).toISOString() : '',
        r.health ? (r.health.healthy ? 'ok' : `OUT OF SERVICE: ${r.health.reason}`) : 'unchecked',
      ]);
    }
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) process.stdout.write(row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n');
  },
};

function heldByText(lease: Lease): string {
  return `held by ${lease.holder.name}@${lease.holder.host} until ${new Date(lease.expiresAt).toISOString()}`;
}

const lease: CommandModule<object, RigArgs> = {
  command: 'lease <devices..>',
  describe: 'lease rig devices (for a person: the lease lasts its TTL unless renewed or released)',
  builder: (y: Argv) => leaseOptions(y).positional('devices', { type: 'string', array: true }).option('ttl', { type: 'string', requiresArg: true, default: '2h' }) as unknown as Argv<RigArgs>,
  handler: (args) => {
    const ttl = durationArg(args.ttl);
    const rig = rigOf(args.rig);
    const store = storeFor(args, rig);
    let refused = 0;
    for (const id of devicesOf(rig, args.devices)) {
      const r = store.acquire(rig.name, id, personHolder(args.holder), ttl);
      if (r.ok) process.stdout.write(`${id}: leased until ${new Date(r.lease.expiresAt).toISOString()}\n`);
      else {
        refused++;
        process.stdout.write(`${id}: ${heldByText(r.heldBy)}\n`);
      }
    }
    store.close();
    if (refused) throw new CliExit(EXIT.failed, '');
  },
};

const renew: CommandModule<object, RigArgs> = {
  command: 'renew <devices..>',
  describe: 'extend your leases',
  builder: (y: Argv) => leaseOptions(y).positional('devices', { type: 'string', array: true }).option('ttl', { type: 'string', requiresArg: true, default: '2h' }) as unknown as Argv<RigArgs>,
  handler: (args) => {
    const ttl = durationArg(args.ttl);
    const rig = rigOf(args.rig);
    const store = storeFor(args, rig);
    let lost = 0;
    for (const id of devicesOf(rig, args.devices)) {
      const ok = store.renew(rig.name, id, personHolder(args.holder), ttl);
      if (!ok) lost++;
      process.stdout.write(`${id}: ${ok ? `renewed for ${args.ttl}` : 'not yours (expired, released or held by someone else)'}\n`);
    }
    store.close();
    if (lost) throw new CliExit(EXIT.failed, '');
  },
};

const release: CommandModule<object, RigArgs> = {
  command: 'release <devices..>',
  describe: 'give leased devices back (--force: whoever holds them)',
  builder: (y: Argv) => leaseOptions(y).positional('devices', { type: 'string', array: true }).option('force', { type: 'boolean', default: false }) as unknown as Argv<RigArgs>,
  handler: (args) => {
    const rig = rigOf(args.rig);
    const store = storeFor(args, rig);
    let kept = 0;
    for (const id of devicesOf(rig, args.devices)) {
      if (store.release(rig.name, id, personHolder(args.holder), { force: args.force })) {
        process.stdout.write(`${id}: released\n`);
        continue;
      }
      // Free already is what was asked for; someone else's lease is not, so that fails the command.
      const other = store.holderOf(rig.name, id);
      if (!other) process.stdout.write(`${id}: not leased\n`);
      else {
        kept++;
        process.stdout.write(`${id}: ${heldByText(other)}, not released (--force takes it)\n`);
      }
    }
    store.close();
    if (kept) throw new CliExit(EXIT.failed, '');
  },
};

const check: CommandModule<object, RigArgs> = {
  command: 'check [devices..]',
  describe: 'health-check rig devices (leasing each briefly; power-cycling one that fails): marks them in or out of service',
  builder: (y: Argv) => leaseOptions(y).positional('devices', { type: 'string', array: true, default: [] as string[] }) as unknown as Argv<RigArgs>,
  handler: async (args) => {
    const rig = rigOf(args.rig);
    const ids = devicesOf(rig, args.devices);
    const zigbee = new ZigbeeRigLinks(rig, { log: herdsmanErrorsToStderr });
    const session = RigSession.open(rig, { ...(args.leaseDir ? { leaseDir: args.leaseDir } : {}), holder: currentHolder(args.holder ?? 'rig-check'), zigbee: zigbee.link });
    session.ref();
    let bad = 0;
    try {
      for (const id of ids) {
        const started = Date.now();
        const r = await session.check(id);
        if (!r.healthy) bad++;
        // A device this run could not reach (its coordinator down, herdsman missing) failed no check of its own.
        const marked = session.store.health(rig.name, id);
        const outOfService = marked && !marked.healthy && marked.checkedAt >= started;
        process.stdout.write(`${id}: ${r.healthy ? 'healthy' : `${outOfService ? 'OUT OF SERVICE' : 'UNREACHABLE (left in service)'}: ${r.reason}`}\n`);
      }
    } finally {
      await session.close();
      await zigbee.close();
    }
    if (bad) throw new CliExit(EXIT.failed, '');
  },
};

const validate: CommandModule<object, RigArgs> = {
  command: 'validate <files..>',
  describe: 'check rig inventories: every bad field with its file and line',
  builder: (y: Argv) => y.positional('files', { type: 'string', array: true }) as unknown as Argv<RigArgs>,
  handler: (args) => {
    let bad = 0;
    for (const f of args.files) {
      try {
        const rig = loadRig(f);
        process.stdout.write(`${f}: rig ${rig.name}, ${rig.devices.length} device(s)\n`);
      } catch (e) {
        if (!(e instanceof RigFileError)) throw e;
        bad++;
        process.stdout.write(e.message + '\n');
      }
    }
    if (bad) throw new CliExit(EXIT.failed, '');
  },
};

export const rigCommand: CommandModule = {
  command: 'rig',
  describe: 'shared rigs: who holds what, leases, health checks, inventory validation',
  builder: (y: Argv) =>
    y
      .command(who as CommandModule)
      .command(lease as CommandModule)
      .command(renew as CommandModule)
      .command(release as CommandModule)
      .command(check as CommandModule)
      .command(validate as CommandModule)
      .demandCommand(1, 'name a rig command: who, lease, renew, release, check or validate'),
  handler: () => undefined,
};
