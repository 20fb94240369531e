/** The command groups of the smets-hil CLI, one module per group. */
import type { CommandModule } from 'yargs';
import { duisCommand } from './duis.ts';
import { dccCommand } from './dcc.ts';
import { demoCommand } from './demo.ts';
import { deviceCommand, rigCommand } from './device.ts';
import { fleetCommand } from './fleet.ts';
import { gbcsCommand } from './gbcs.ts';
import { historyCommand } from './history.ts';
import { listCommand, runCommand } from './run.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commandModules: CommandModule<any, any>[] = [runCommand, listCommand, dccCommand, gbcsCommand, duisCommand, demoCommand, historyCommand, deviceCommand, rigCommand, fleetCommand];
