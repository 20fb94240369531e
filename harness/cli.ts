/**
 * smets-hil command line. Each command group lives in harness/commands/<group>.ts and exports a yargs
 * CommandModule; this file only assembles them. Exit codes: 0 success, 1 a check failed (invalid input,
 * failed scenario), 2 usage error, 3 infrastructure error, 130 interrupted (run and fleet, on Ctrl-C or SIGTERM).
 */
import yargs, { type CommandModule } from 'yargs';
import { RigSetupError } from '../devices/rig/rig-files.ts';
import { commandModules } from './commands/index.ts';
import { STDIN } from './commands/inputs.ts';

import { CliExit, EXIT } from './cli-exit.ts';
import { terminalSafe } from './reporters/console.ts';

export { CliExit, EXIT };

/**
 * A console that cannot be written goes on without its output, so a run still writes its reports and history and
 * exits with its own code, not a crash's: standard output or error piped into a reader that has gone (`| head`,
 * `2>&1 | head`: EPIPE), or written to a full disk or a terminal that has gone (ENOSPC, EIO). Those last lose what
 * the command printed, so a command that would have succeeded ends as an infrastructure error (`consoleLost`).
 */
const tolerating = new WeakSet<NodeJS.WriteStream>();
let consoleLost: NodeJS.ErrnoException | null = null;
function tolerateConsoleErrors(stream: NodeJS.WriteStream): void {
  if (tolerating.has(stream)) return;
  tolerating.add(stream);
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') consoleLost ??= e;
  });
}

export async function main(argv: string[]): Promise<number> {
  consoleLost = null;
  tolerateConsoleErrors(process.stdout);
  tolerateConsoleErrors(process.stderr);
  const code = await runCommand(argv);
  // Set by the streams' error handlers while the command ran (TypeScript cannot see that).
  const lost = consoleLost as NodeJS.ErrnoException | null;
  if (code !== EXIT.ok || !lost) return code;
  process.stderr.write(`the console could not be written (${lost.message}): what the command printed is lost\n`);
  return EXIT.infrastructure;
}

async function runCommand(argv: string[]): Promise<number> {
  const parser = yargs(argv.map((a) => (a === '-' ? STDIN : a)))
    .scriptName('smets-hil')
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 110))
    .middleware((argv, y?: unknown) => refuseUnusableValues(argv, y as OptionTable))
    .fail((msg, err) => {
      // What yargs reports with a message (its own validation, a .check or coerce that threw) is a usage error.
      if (err instanceof CliExit) throw err;
      if (msg) throw new CliExit(EXIT.usage, msg);
      throw err ?? new CliExit(EXIT.usage, 'invalid arguments');
    });
  for (const m of commandModules) parser.command(m as CommandModule);
  try {
    await parser.parseAsync();
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CliExit) {
      // A message may quote a scenario file or a meter (a YAML key, a title): its controls must not reach the terminal.
      const message = terminalSafe(e.message, { lines: true });
      if (message) process.stderr.write(message.endsWith('\n') ? message : message + '\n');
      if (e.code === EXIT.usage) process.stderr.write('run smets-hil --help for usage\n');
      return e.code;
    }
    // A rig directory that cannot be used is the rig's set-up, not a bug: its reason is enough.
    process.stderr.write(terminalSafe(e instanceof RigSetupError ? `${e.message}\n` : `${(e as Error).stack ?? String(e)}\n`, { lines: true }));
    return EXIT.infrastructure;
  }
}

interface OptionTable {
  getOptions(): { string: string[]; number: string[]; boolean: string[]; array: string[]; narg: Record<string, unknown> };
}

/** Options that name the command's input and read it through readInput (so "-" is standard input). */
const OPTIONS_READING_STDIN: ReadonlySet<string> = new Set(['from']);

/**
 * Every option that takes a value says `requiresArg`, so one given without any is a yargs usage error; this
 * refuses an empty value and a number that is not one, rather than going on with a default (`run --rig "$RIG"`
 * with RIG unset must not quietly run the emulated pack), and a lone "-", which only file arguments (and the
 * options above) take.
 */
function refuseUnusableValues(argv: Record<string, unknown>, y: OptionTable): void {
  const o = y.getOptions();
  // yargs makes a list of an option given twice, which the command then reads as one value (a TypeError, or a
  // --grep of "a,b"): a script that appends options must hear which one it repeated.
  for (const key of [...o.string, ...o.number, ...o.boolean]) {
    if (!o.array.includes(key) && Array.isArray(argv[key])) throw new CliExit(EXIT.usage, `--${key} is given more than once`);
  }
  for (const key of o.string) {
    // Options, unlike positional arguments, are what requiresArg sets narg on.
    const option = key in o.narg;
    // A list option (`--cert A --cert B`) is checked value by value, as a single one is.
    const values = o.array.includes(key) ? (Array.isArray(argv[key]) ? (argv[key] as unknown[]) : []) : [argv[key]];
    if (option || !o.array.includes(key)) {
      if (values.includes('')) throw new CliExit(EXIT.usage, `${option ? `--${key}` : key.toUpperCase()} needs a value`);
    }
    // An option's "-" (`--xsd -`, `--evidence -`, or `--xsd=-`, which reaches us as it is) would be read, or
    // written, as a path named <stdin>; the few options that are a command's main input, read through
    // readInput, take it as file arguments do.
    if (option && !OPTIONS_READING_STDIN.has(key) && values.some((v) => v === STDIN || v === '-')) {
      throw new CliExit(EXIT.usage, `--${key} -: "-" (standard input) is taken by file arguments, not by options`);
    }
  }
  for (const key of o.number) {
    if (typeof argv[key] === 'number' && Number.isNaN(argv[key])) throw new CliExit(EXIT.usage, `--${key} must be a number`);
  }
}
