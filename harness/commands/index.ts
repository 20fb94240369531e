/** The command groups of the smets-hil CLI, one module per group. */
import type { CommandModule } from 'yargs';


// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commandModules: CommandModule<any, any>[] = [];
