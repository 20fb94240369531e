/**
 * `smets-hil device serve`: an emulated meter on the device end of a serial line (see README, "Serial wire
 * format"), for rigs and for testing the harness's serial path. Events are JSON lines on stdout; the first is
 * {"event":"ready",...} with the meter's EUI and public keys.
 */
import type { Argv, CommandModule } from 'yargs';
import { serveDevice } from '../../devices/serve/serve-process.ts';
import { EuiError, parseEui } from '../../protocol/smki/eui.ts';
import { CliExit, EXIT } from '../cli-exit.ts';

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
      .option('type', { choices: ['esme', 'gsme', 'smets1'] as const, demandOption: true, describe: 'the meter to emulate' })
      .option('serial', { type: 'string', describe: 'serial line to serve on (e.g. /dev/ttyUSB0, /dev/pts/3)' })
      .option('pty', { type: 'boolean', default: false, describe: 'make a pty pair with socat and serve on one end; the other is reported as "peer"' })
      .option('baud', { type: 'number', default: 115200, describe: 'line speed' })
      .option('eui', { type: 'string', default: '00DB000000000001', describe: "the meter's EUI-64 until a harness provisions another" })
      .option('seed', { type: 'string', default: 'smets-hil', describe: "the meter's DS and KA keys derive from this seed and its EUI" })
      .option('twin', { type: 'boolean', default: false, describe: 'ESME: a twin-element meter' })
      .option('fuel', { choices: ['electricity', 'gas'] as const, describe: 'SMETS1: electricity (default) or gas' })
      .option('anchors', { type: 'string', describe: 'trust anchors JSON (supplier, acb, networkOperator, s1sp: EUIs and base64 SPKI or PEM keys); a harness may provision them over the line instead' })
      .option('state', { type: 'string', describe: 'keep the meter (definition and state) in this file across restarts' })
      .option('clock', { type: 'string', describe: "the meter's clock at start (ISO-8601; default now)" })
      .option('exit-with-stdin', { type: 'boolean', default: false, describe: 'exit when standard input closes (for a parent process that starts emulators)' })
      .check((a) => {
        if (!a.serial === !a.pty) throw new Error('give either --serial PATH or --pty');
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
      clock = new Date(args.clock);
      if (Number.isNaN(clock.getTime())) throw new CliExit(EXIT.usage, `--clock ${args.clock}: not an ISO-8601 date-time`);
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
        ...(args.anchors ? { anchorsFile: args.anchors } : {}),
        ...(args.state ? { statePath: args.state } : {}),
        ...(clock ? { clock } : {}),
        exitWithStdin: args.exitWithStdin,
      });
    } catch (e) {
      throw new CliExit(EXIT.infrastructure, `device serve: ${(e as Error).message}`);
    }
  },
};

export const deviceCommand: CommandModule = {
  command: 'device <command>',
  describe: 'emulated meters on serial lines (device serve)',
  builder: (y: Argv) => y.command(serve as CommandModule).demandCommand(1),
  handler: () => undefined,
};

export const rigCommand: CommandModule = {
  command: 'rig <command>',
  describe: 'shared rigs: who holds which device, leases, health checks',
  builder: (y: Argv) => y.demandCommand(1),
  handler: () => undefined,
};
