/**
 * The emulator process's server when its serial line is missing: one reopen at a time, and none once stopped. Its
 * state file: a file holding another meter than the one asked for is refused.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeviceServer, StateFileMismatchError } from '../../../devices/serve/device-server.ts';
import { SerialLink } from '../../../devices/transports/serial/serial-link.ts';
import { parseEui } from '../../../protocol/smki/eui.ts';
import { runCli } from '../../helpers/cli.ts';

test('a line that cannot be opened is retried one attempt at a time, and not at all once the server stops', async (t) => {
  const events: string[] = [];
  const link = new SerialLink({ path: '/nonexistent/smets-hil-serial', name: 'missing' });
  const server = new DeviceServer({ link, type: 'ESME', eui: parseEui('00DB1234567890C0'), seed: 'reopen test', reconnectMs: 50, log: (e) => events.push(String(e.event)) });
  await t.throwsAsync(server.start(), { message: /cannot open \/nonexistent\/smets-hil-serial/ });
  await sleep(1600);
  // The failed start, then a reopen after 50 ms, then one a second after each failed reopen: 2 attempts by now.
  // Every failure used to schedule two reopens (one from the failure, one from the link's failed state), so the
  // attempts doubled each round.
  const attempts = events.filter((e) => e === 'link-reopen-failed').length;
  t.true(attempts >= 1 && attempts <= 3, `reopen attempts in 1.6 s: ${attempts} (${events.join(', ')})`);
  await server.stop();
  const atStop = events.length;
  await sleep(1200);
  t.is(events.length, atStop, 'nothing happens after stop');
});

test('a state file is the meter it holds: another --type, or an EUI it never had, is refused', async (t) => {
  const state = join(mkdtempSync(join(tmpdir(), 'device-state-')), 'meter.json');
  const link = new SerialLink({ path: '/nonexistent/smets-hil-serial', name: 'unopened' });
  const serve = (type: 'ESME' | 'GSME', eui: string) => new DeviceServer({ link, type, eui: parseEui(eui), seed: 'state test', statePath: state });
  t.is(serve('GSME', '00DB1234567890C1').identity().type, 'GSME');
  t.throws(() => serve('ESME', '00DB1234567890C1'), { instanceOf: StateFileMismatchError, message: /holds a GSME \(EUI 00DB1234567890C1\), not the ESME asked for: give --type gsme/ });
  t.throws(() => serve('GSME', '00DB1234567890C2'), { instanceOf: StateFileMismatchError, message: /holds the GSME with EUI 00DB1234567890C1, not --eui 00DB1234567890C2/ });
  // A harness provisions another EUI (saved as the meter's): the command that started it still restarts it.
  const saved = JSON.parse(readFileSync(state, 'utf8')) as { definition: { eui: string } };
  saved.definition.eui = '00DB1234567890C9';
  writeFileSync(state, JSON.stringify(saved));
  t.is(serve('GSME', '00DB1234567890C1').identity().eui, '00DB1234567890C9');
  t.is(serve('GSME', '00DB1234567890C9').identity().eui, '00DB1234567890C9');
  t.throws(() => serve('GSME', '00DB1234567890C2'), { instanceOf: StateFileMismatchError, message: /EUI 00DB1234567890C9 \(served as --eui 00DB1234567890C1\)/ });
  // From the command line: a usage error, before any line is opened.
  const r = await runCli(['device', 'serve', '--type', 'esme', '--serial', '/nonexistent/smets-hil-serial', '--eui', '00DB1234567890C1', '--state', state]);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /^device serve: state file .*meter\.json holds a GSME/);
});
