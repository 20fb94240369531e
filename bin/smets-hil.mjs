#!/usr/bin/env node
// Entry point: registers tsx (with this package's tsconfig, whatever the working directory) so the TypeScript
// sources run without a build step.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('../harness/cli.ts');
process.exitCode = await main(process.argv.slice(2));
