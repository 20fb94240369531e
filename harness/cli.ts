/**
 * smets-hil command line. Each command group lives in harness/commands/<group>.ts and exports a yargs
 * CommandModule; this file only assembles them. Exit codes: 0 success, 1 a check failed (invalid input,
 * failed scenario), 2 usage error, 3 infrastructure error.
 */
import yargs, { type CommandModule } from 'yargs';
import { commandModules } from './commands/index.ts';

import { CliExit, EXIT } from './cli-exit.ts';

export { CliExit, EXIT };

export async function main(argv: string[]): Promise<number> {
  const parser = yargs(argv)
    .scriptName('smets-hil')
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err) => {
      if (err) throw err;
      throw new CliExit(EXIT.usage, msg);
    });
  for (const m of commandModules) parser.command(m as CommandModule);
  try {
    await parser.parseAsync();
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CliExit) {
      if (e.message) process.stderr.write(e.message.endsWith('\n') ? e.message : e.message + '\n');
      if (e.code === EXIT.usage) process.stderr.write('run smets-hil --help for usage\n');
      return e.code;
    }
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    return EXIT.infrastructure;
  }
}
