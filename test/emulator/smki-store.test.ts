/** The DCC's SMKI state across restarts (a reopened store). */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSmki } from '../../emulator/smki-store.ts';
import { getMeta, openStore } from '../../emulator/store.ts';
import { StoreCommitError } from '../../emulator/group-commit.ts';
import { startTestDcc, unreachableDevices } from '../helpers/dcc.ts';
import { readCrl } from '../../protocol/smki/crl.ts';

test('Organisation CRL numbers keep increasing across a restart (RFC 5280 5.2.3)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smets-hil-smki-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'dcc.sqlite');
  const clock = () => new Date('2026-01-05T09:00:00Z');
  const numbers: (bigint | null)[] = [];
  for (let start = 0; start < 2; start++) {
    const db = openStore(path);
    const smki = await openSmki(db, clock);
    for (let i = 0; i < 2; i++) numbers.push((await smki.crl()).number);
    db.close();
  }
  t.deepEqual(numbers, [1n, 2n, 3n, 4n]);
});

test('a CRL is handed out only once its number is durable: one whose group SQLite lost is refused, and no later CRL repeats its number', async (t) => {
  const d = await startTestDcc(unreachableDevices(), { persistent: false });
  t.teardown(() => d.close());
  const db = d.dcc.service.options.db;
  d.dcc.service.putParty({ eui: '00000000000000E1', name: 'Supplier', roles: ['IS'] }); // a group is open
  const first = d.dcc.admin.crl(); // its number joins that group
  db.exec('ROLLBACK'); // what SQLite does on its own after a full disk or an I/O error
  await t.throwsAsync(first, { instanceOf: StoreCommitError });
  const number = readCrl(await d.dcc.admin.crl()).number;
  t.is(getMeta(db, 'crl-number'), String(number), 'the number handed out is the one stored');
  t.is(number, 2n, 'the lost number is not handed out again');
});
