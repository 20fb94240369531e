/** The DCC's SMKI state across restarts (a reopened store). */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSmki } from '../../emulator/smki-store.ts';
import { openStore } from '../../emulator/store.ts';

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
