/**
 * The admin API's answer to bad input: 400 with the field that is wrong, and nothing changed. Filters given empty,
 * twice or misspelt are refused too: read as "no filter" they would list everything, and a repeated one reached
 * SQLite as a list (HTTP 500).
 */
import test from 'ava';
import { startTestDcc, type TestDcc, unreachableDevices } from '../helpers/dcc.ts';

let w: TestDcc;
test.before(async () => {
  w = await startTestDcc(unreachableDevices(), { persistent: false, extra: { start: new Date('2026-01-01T00:00:00Z'), freezeClock: true } });
});
test.after.always(async () => w?.close());

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; error: string }> {
  const r = await fetch(`${w.url}/admin/v1${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const json = (await r.json()) as { error?: string };
  return { status: r.status, error: json.error ?? '' };
}

test('bad bodies get 400 naming the field, and change nothing', async (t) => {
  const before = { parties: await call('GET', '/parties'), devices: await call('GET', '/devices'), clock: await w.admin.now() };
  const cases: [string, unknown, RegExp][] = [
    ['/parties', { eui: '0011223344556677', name: 'x', roles: ['XX'] }, /^roles\.0: /],
    ['/parties', { eui: 'zz', name: 'x', roles: ['IS'] }, /^eui: not an EUI-64/],
    ['/devices', { eui: '0011223344556677', type: 'ESME' }, /supplier: /],
    ['/clock', { advanceMs: -5 }, /^advanceMs: /],
    ['/clock', { set: 'garbage' }, /^set: /],
  ];
  for (const [path, body, message] of cases) {
    const r = await call('POST', path, body);
    t.is(r.status, 400, `${path} ${JSON.stringify(body)}`);
    t.regex(r.error, message, path);
  }
  t.deepEqual(await call('GET', '/parties'), before.parties);
  t.deepEqual(await call('GET', '/devices'), before.devices);
  t.deepEqual(await w.admin.now(), before.clock);
});

test('audit and outbox filters: empty, repeated, misspelt or malformed ones get 400; good ones filter', async (t) => {
  const refused: [string, string][] = [
    ['/requests?requestId=a&requestId=b', 'requestId: given more than once'],
    ['/requests?requestId=', 'requestId: empty'],
    ['/requests?user=', 'user: empty'],
    ['/requests?user=zz', 'user: not an EUI-64'],
    ['/requests?reqestId=x', 'query: Unrecognized key: "reqestId"'],
    ['/deliveries?recipient=0011223344556677&recipient=x', 'recipient: given more than once'],
    ['/deliveries?recipient=%00', 'recipient: not an EUI-64'],
  ];
  for (const [path, message] of refused) {
    const r = await call('GET', path);
    t.is(r.status, 400, path);
    t.true(r.error.startsWith(message), `${path}: ${r.error}`);
  }
  t.deepEqual(await w.admin.requests({ requestId: 'none-such', user: '00-11-22-33-44-55-66-77' }), []);
  t.deepEqual(await w.admin.deliveries('0011223344556677'), []);
});
