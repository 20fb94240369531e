/** The emulator process's server when its serial line is missing: one reopen at a time, and none once stopped. */
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeviceServer } from '../../../devices/serve/device-server.ts';
import { SerialLink } from '../../../devices/transports/serial/serial-link.ts';
import { parseEui } from '../../../protocol/smki/eui.ts';

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
