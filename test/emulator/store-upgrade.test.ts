/**
 * A DCC store written by an earlier version opens under the current schema: what it held is kept, in the shape
 * the current code reads.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '../../emulator/registry.ts';
import { openStore } from '../../emulator/store.ts';
import { correlate, PreCommands } from '../../emulator/transform.ts';
import { parseEui } from '../../protocol/smki/eui.ts';

const USER = parseEui('90B3D51F30010001');
const FAILED = parseEui('90B3D51F30010009');

test('an older store gains the Pre-Command SRV (a Pre-Command kept without one is refused at CV 5) and scoped ADT counts (old counts carry on in every file of the party)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smets-hil-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'dcc.sqlite');
  const old = new Database(path);
  old.exec(`CREATE TABLE adt_counts (party TEXT NOT NULL, srv TEXT NOT NULL, window_start TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (party, srv, window_start));
    CREATE TABLE precommands (request_id TEXT PRIMARY KEY, user TEXT NOT NULL, device TEXT NOT NULL, bytes BLOB NOT NULL, issued_at TEXT NOT NULL, used_by INTEGER);
    INSERT INTO adt_counts VALUES ('${USER}', '1.6', '2026-01-05T00:00:00.000Z', 7);
    CREATE TABLE adt_files (id INTEGER PRIMARY KEY, party TEXT NOT NULL, submitted_by TEXT NOT NULL, submitted_at TEXT NOT NULL, supplier TEXT, body TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1);
    INSERT INTO adt_files (party, submitted_by, submitted_at, supplier, body) VALUES ('${USER}', 'sro', '2026-01-05T00:00:00.000Z', '${FAILED}', '[]');
    CREATE TABLE parties (eui TEXT PRIMARY KEY, name TEXT NOT NULL, roles TEXT NOT NULL, status TEXT NOT NULL, endpoint TEXT, srp TEXT, created_at TEXT NOT NULL);
    INSERT INTO parties VALUES ('${USER}', 'Supplier', '["IS","GS"]', 'active', NULL, NULL, '2026-01-05T00:00:00.000Z');
    CREATE TABLE devices (eui TEXT PRIMARY KEY, type TEXT NOT NULL, variant TEXT NOT NULL, supplier TEXT NOT NULL, network_operator TEXT, smi_status TEXT NOT NULL, hosted INTEGER NOT NULL DEFAULT 0);
    INSERT INTO devices VALUES ('00DB0000000000A2', 'GSME', '{"twin":true,"fuel":"gas"}', '${USER}', NULL, 'commissioned', 0);
    INSERT INTO precommands VALUES ('r1', '${USER}', '00DB0000000000A1', x'0102', '2026-01-05T09:00:00.000Z', NULL);`);
  old.close();

  const db = openStore(path);
  t.teardown(() => db.close());
  // The party's scoped file (an SC party has no other) carries the old count on, as its unscoped file would.
  t.deepEqual(db.prepare('SELECT party, scope, srv, count FROM adt_counts ORDER BY scope').all(), [
    { party: USER, scope: '', srv: '1.6', count: 7 },
    { party: USER, scope: FAILED, srv: '1.6', count: 7 },
  ]);
  const kept = new PreCommands(db).get('r1');
  t.is(kept?.srv, null);
  const c = correlate(kept, USER, '1.6', Uint8Array.of(1, 2));
  t.false(c.ok);
  t.regex(c.ok ? '' : c.reason, /not recorded: transform again/);
  // A GSME the first version stored with twin set reads as the GSME it is, and can be registered again.
  const registry = new Registry(db);
  t.false(registry.device(parseEui('00DB0000000000A2'))?.twin);
  t.notThrows(() => registry.putDevice({ eui: '00DB0000000000A2', type: 'GSME', supplier: USER, smiStatus: 'suspended' }));
  db.close();
  t.notThrows(() => openStore(path).close(), 'an upgraded store opens again as it is');
});
