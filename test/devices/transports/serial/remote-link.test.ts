/**
 * The parent's side of the link host over a real pty: a close that comes right after open() (before the host has
 * said 'opening'), and a host closed twice at once.
 */
import test from 'ava';
import { LinkError } from '../../../../devices/transports/link.ts';
import { openPtyPair } from '../../../../devices/transports/serial/pty-pair.ts';
import { LinkHost } from '../../../../devices/transports/serial/remote-link.ts';
import { requireSocat } from './support.ts';

requireSocat();

test('a link closed right after open() stays closed: open rejects (closed) and the port is free for another', async (t) => {
  const [host, pty] = await Promise.all([LinkHost.start(), openPtyPair()]);
  try {
    const link = host.link({ path: pty.a });
    const opening = link.open();
    await link.close();
    const e = await t.throwsAsync(opening, { instanceOf: LinkError });
    t.is(e?.kind, 'closed');
    t.is(link.state, 'closed');
    // serialport locks the ports it opens: a port still held would refuse this one.
    const again = host.link({ path: pty.a });
    await t.notThrowsAsync(again.open());
    await again.close();
  } finally {
    await host.close();
    await pty.close();
  }
});

test('a link host closed twice at once (a session and an exit handler): both closes return once it has exited', async (t) => {
  const host = await LinkHost.start();
  await t.notThrowsAsync(Promise.all([host.close(), host.close()]));
  await t.notThrowsAsync(host.close());
  await t.throwsAsync(host.link({ path: '/dev/null' }).open(), { instanceOf: LinkError, message: /link host has exited/ });
});
