/**
 * Queries the DCC runs per request, per step or per delivery use an index, so their cost does not grow with the
 * store's history (a nightly soak keeps every request): read from SQLite's own query plans.
 */
import test from 'ava';
import { KICK_QUERIES } from '../../emulator/outbox.ts';
import { requestsQuery } from '../../emulator/service.ts';
import { openStore } from '../../emulator/store.ts';

const db = openStore(null);
test.after.always(() => db.close());

function plan(sql: string, params: Record<string, unknown> | unknown[] = {}): string {
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).join(' | ');
}

test('the audit log looked up by RequestID or by User reads its index, not every request', (t) => {
  const byId = requestsQuery({ requestId: '90-B3-D5-1F-30-01-00-01:00-DB-00-00-00-00-00-01:1' });
  t.regex(plan(byId.sql, byId.params), /USING INDEX requests_by_request_id/);
  const byUser = requestsQuery({ user: '90B3D51F30010001' });
  t.regex(plan(byUser.sql, byUser.params), /USING INDEX requests_by_user/);
  const both = requestsQuery({ requestId: 'x', user: 'y' });
  t.notRegex(plan(both.sql, both.params), /SCAN requests/);
  t.is(requestsQuery({}).sql, 'SELECT * FROM requests ORDER BY id');
});

test("the outbox's look at what is due, at every commit, seeks its index: a dead endpoint's backlog is not read each time", (t) => {
  for (const [name, sql] of Object.entries(KICK_QUERIES)) {
    const p = plan(sql, sql.includes('?') ? ['http://user.example/duis'] : []);
    t.regex(p, /USING (COVERING )?INDEX outbox_pending/, `${name}: ${p}`);
    t.notRegex(p, /SCAN/, `${name}: ${p}`);
  }
  // What the kick ran before: every undelivered row, each time.
  t.regex(plan("SELECT DISTINCT endpoint FROM outbox WHERE delivered_at IS NULL AND endpoint != ''"), /SCAN/);
});
