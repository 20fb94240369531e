/**
 * A User endpoint that closes ends the waits on it: a step stopped mid-wait (or a world closed under it) must not
 * leave a timer that keeps the process alive until the wait's own time limit (counted with no other test running).
 * And a claim takes the delivery it waited for, so no other claim can.
 */
import test from 'ava';
import { UserEndpoint } from '../../harness/agents/endpoint.ts';

test.serial('closing an endpoint ends the waits on it at once, and leaves no timer behind', async (t) => {
  const endpoint = new UserEndpoint(() => null);
  await endpoint.listen();
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  const waiting = endpoint.waitFor(() => false, 600_000, 'the response');
  const claiming = endpoint.claim(() => false, 600_000, 'an alert');
  t.is(timers(), before + 2);
  await endpoint.close();
  await t.throwsAsync(waiting, { message: /closed while waiting/ });
  await t.throwsAsync(claiming, { message: /closed while waiting/ });
  t.is(timers(), before);
});

test('one delivery answers one claim: of two waiting for it at once, the other waits on for its own', async (t) => {
  const endpoint = new UserEndpoint(() => null);
  await endpoint.listen();
  t.teardown(() => endpoint.close());
  const first = endpoint.claim(() => true, 5_000, 'first');
  const second = endpoint.claim(() => true, 5_000, 'second');
  const post = (body: string) => fetch(endpoint.url, { method: 'POST', headers: { 'content-type': 'application/xml' }, body });
  t.is((await post('<one/>')).status, 200);
  t.is((await first).xml, '<one/>');
  t.is((await post('<two/>')).status, 200);
  t.is((await second).xml, '<two/>', 'the second claim took the second delivery, not the first again');
});
