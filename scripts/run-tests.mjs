#!/usr/bin/env node
// Runs ava with TAP output, echoes it, and ends with the one line CI judges:
// "N passed, N failed". Exits non-zero when anything failed or ava itself failed.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const args = ['ava', '--tap', ...process.argv.slice(2)];
const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'inherit'] });
let passed = 0;
let failed = 0;
const lines = createInterface({ input: child.stdout });
lines.on('line', (line) => {
  process.stdout.write(line + '\n');
  // TAP: "ok N - title", "not ok N - title"; a "# SKIP"/"# TODO" directive is neither.
  if (/^not ok \d+/.test(line)) {
    if (!/#\s*(TODO|SKIP)\b/i.test(line)) failed++;
  } else if (/^ok \d+/.test(line)) {
    if (!/#\s*(TODO|SKIP)\b/i.test(line)) passed++;
  }
});
child.on('close', (code) => {
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exit(failed > 0 || code !== 0 ? 1 : 0);
});
