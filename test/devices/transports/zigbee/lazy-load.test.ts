/**
 * zigbee-herdsman is an optional dependency (and brings GPL-3.0 code with it): importing the project, the
 * ZigBee transport included, must not load it; only starting a ZigBee network does. Checked in a fresh
 * process, since this test's own process may have loaded anything.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';

const run = promisify(execFile);

test('importing devices/, protocol/, emulator/ and harness/ (the ZigBee transport included) loads no herdsman module; starting it does', async (t) => {
  const probe = join(import.meta.dirname, 'herdsman-probe.ts');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', probe, 'devices', 'protocol', 'emulator', 'harness'], { cwd: join(import.meta.dirname, '../../../..'), timeout: 120_000, maxBuffer: 1 << 20 });
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { imported: number; refused: string[]; before: number; after: number };
  t.log(`${r.imported} modules imported${r.refused.length ? `; refused to load outside their context: ${r.refused.join('; ')}` : ''}`);
  t.true(r.imported > 20);
  t.is(r.before, 0, 'no zigbee-herdsman module loaded by importing the project');
  t.true(r.after > 0, 'the loader does load it (the check can see herdsman)');
});
