/**
 * A DCC store written before Pre-Commands kept their role, requests their schema version and alerts their
 * addressee and device opens under the current schema, each old row read in the shape the current code needs.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openStore } from '../../emulator/store.ts';
import { PreCommands } from '../../emulator/transform.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { scratchDir } from '../helpers/scratch.ts';

const USER = parseEui('90B3D51F30010001');
const SRP = parseEui('90B3D51F30050001');

test('an older store: a Pre-Command reads as kept without its role and originator (refused at CV 5: transform again), an open request reads as DUIS 5.4, and a waiting alert is addressed to the party it waits for', (t) => {
  const path = join(scratchDir(t, 'smets-hil-store'), 'dcc.sqlite');
  const old = new Database(path);
  old.exec(`CREATE TABLE precommands (request_id TEXT PRIMARY KEY, user TEXT NOT NULL, device TEXT NOT NULL, srv TEXT, bytes BLOB NOT NULL, issued_at TEXT NOT NULL, used_by INTEGER);
    INSERT INTO precommands VALUES ('r1', '${USER}', '00DB0000000000A1', '1.6', x'0102', '2026-01-05T09:00:00.000Z', NULL);
    CREATE TABLE requests (id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, user TEXT NOT NULL, role TEXT, srv TEXT NOT NULL,
      cv INTEGER NOT NULL, target TEXT NOT NULL, url TEXT NOT NULL, received_at TEXT NOT NULL, command BLOB, dispatched_at TEXT,
      outcome TEXT, response_code TEXT, reason TEXT, check_name TEXT, terminal_at TEXT);
    INSERT INTO requests (request_id, user, srv, cv, target, url, received_at) VALUES ('r2', '${USER}', '1.6', 1, '00DB0000000000C1', 'send', '2026-01-05T09:00:00.000Z');
    CREATE TABLE outbox (id INTEGER PRIMARY KEY, endpoint TEXT NOT NULL, recipient TEXT NOT NULL, kind TEXT NOT NULL,
      request_row INTEGER, body TEXT NOT NULL, created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER NOT NULL, delivered_at TEXT, last_error TEXT);
    INSERT INTO outbox (endpoint, recipient, kind, body, created_at, next_attempt_at) VALUES ('', '${SRP}', 'device-alert', '<a/>', '2026-01-05T09:00:00.000Z', 0);
    INSERT INTO outbox (endpoint, recipient, kind, body, created_at, next_attempt_at) VALUES ('', '${USER}', 'response', '<r/>', '2026-01-05T09:00:00.000Z', 0);`);
  old.close();

  const db = openStore(path);
  t.teardown(() => db.close());
  const kept = new PreCommands(db).get('r1');
  t.like(kept, { srv: '1.6', role: null, originator: null });
  t.deepEqual(db.prepare('SELECT schema_version FROM requests').all(), [{ schema_version: '5.4' }]);
  // Its device is not known: only an instruction for all its supplier's devices may route it to a contingency party.
  t.deepEqual(db.prepare('SELECT kind, addressee, device FROM outbox ORDER BY id').all(), [
    { kind: 'device-alert', addressee: SRP, device: null },
    { kind: 'response', addressee: null, device: null },
  ]);
  db.close();
  t.notThrows(() => openStore(path).close(), 'an upgraded store opens again as it is');
});
