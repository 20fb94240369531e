/**
 * The DCC's durable state in SQLite (better-sqlite3, WAL): parties, devices, SoLR instructions, officers and ADT
 * files, RequestID counters, the audit log of requests with exactly one terminal outcome each, outstanding
 * Pre-Commands, ADT counts, the delivery outbox and certificates SMKI issued. Everything that must survive a
 * restart or a kill -9 lives here; writes that belong together share a transaction.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const ADT_COUNTS = `CREATE TABLE IF NOT EXISTS adt_counts (
  party TEXT NOT NULL, scope TEXT NOT NULL, srv TEXT NOT NULL, window_start TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (party, scope, srv, window_start));`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parties (
  eui TEXT PRIMARY KEY, name TEXT NOT NULL, roles TEXT NOT NULL, status TEXT NOT NULL,
  endpoint TEXT, srp TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
  eui TEXT PRIMARY KEY, type TEXT NOT NULL, variant TEXT NOT NULL, supplier TEXT NOT NULL,
  network_operator TEXT, smi_status TEXT NOT NULL, hosted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS solr_events (
  id INTEGER PRIMARY KEY, failed_supplier TEXT NOT NULL, contingency_party TEXT NOT NULL,
  scope TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT, instructed_at TEXT NOT NULL, reference TEXT);
CREATE TABLE IF NOT EXISTS officers (
  party TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (party, id));
CREATE TABLE IF NOT EXISTS adt_files (
  id INTEGER PRIMARY KEY, party TEXT NOT NULL, submitted_by TEXT NOT NULL, submitted_at TEXT NOT NULL,
  supplier TEXT, body TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1);
${ADT_COUNTS}
CREATE TABLE IF NOT EXISTS counters (user TEXT PRIMARY KEY, last TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
  id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, user TEXT NOT NULL, role TEXT, srv TEXT NOT NULL,
  cv INTEGER NOT NULL, target TEXT NOT NULL, url TEXT NOT NULL, received_at TEXT NOT NULL,
  command BLOB, dispatched_at TEXT,
  outcome TEXT, response_code TEXT, reason TEXT, check_name TEXT, terminal_at TEXT,
  schema_version TEXT NOT NULL DEFAULT '5.4');
CREATE INDEX IF NOT EXISTS requests_by_request_id ON requests (request_id);
CREATE INDEX IF NOT EXISTS requests_by_user ON requests (user, id);
CREATE INDEX IF NOT EXISTS requests_open ON requests (outcome) WHERE outcome IS NULL;
CREATE TABLE IF NOT EXISTS precommands (
  request_id TEXT PRIMARY KEY, user TEXT NOT NULL, device TEXT NOT NULL, srv TEXT, bytes BLOB NOT NULL,
  issued_at TEXT NOT NULL, used_by INTEGER, role TEXT, originator TEXT);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY, endpoint TEXT NOT NULL, recipient TEXT NOT NULL, kind TEXT NOT NULL,
  request_row INTEGER, body TEXT NOT NULL, created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL, delivered_at TEXT, last_error TEXT, addressee TEXT, device TEXT);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (endpoint, id) WHERE delivered_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_alerts_pending ON outbox (id) WHERE delivered_at IS NULL AND kind = 'device-alert';
CREATE TABLE IF NOT EXISTS certificates (
  serial TEXT NOT NULL, issuer TEXT NOT NULL, owner TEXT NOT NULL, der BLOB NOT NULL, private_key TEXT,
  name TEXT NOT NULL, PRIMARY KEY (issuer, serial));
CREATE TABLE IF NOT EXISTS revocations (
  serial TEXT NOT NULL, issuer TEXT NOT NULL, requested_at TEXT NOT NULL, effective_at TEXT NOT NULL,
  ordered_by TEXT, PRIMARY KEY (issuer, serial));
CREATE TABLE IF NOT EXISTS rejections (
  id INTEGER PRIMARY KEY, url TEXT NOT NULL, received_at TEXT NOT NULL, http_status INTEGER NOT NULL,
  reason TEXT NOT NULL, request_id TEXT);
CREATE TABLE IF NOT EXISTS device_state (eui TEXT PRIMARY KEY, state TEXT NOT NULL);
`;

export type Db = Database.Database;

export function openStore(path: string | null): Db {
  if (path) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path ?? ':memory:');
  db.pragma('journal_mode = WAL');
  // NORMAL survives a killed process (the WAL is fsynced at checkpoints; the OS keeps what was written).
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.transaction(() => {
    db.exec(SCHEMA);
    upgrade(db);
  })();
  cacheStatements(db);
  return db;
}

/**
 * Brings a store made by an earlier version to the current schema.
 * - Pre-Commands record the SRV, the User Role and the GBCS originator they were issued for: an older one lacks
 *   them, and a CV 5 for it is refused (transform again).
 * - Outbox messages record whom a device alert is addressed to (BR7 routes it from there): an older alert takes
 *   the party it waits for.
 * - Requests record the DUIS schema version they named, which an answer given after a restart is in: an older
 *   row has none, and reads as 5.4, the version that DCC answered in then.
 * - ADT counts are kept per file scope (the supplier a party's file names, '' for its unscoped file): an older
 *   store's counts, kept per party and SRV only, carry on as those of each of the party's active files.
 * - A GSME or SMETS1 meter stored with twin set has it cleared.
 */
function upgrade(db: Db): void {
  const columns = (table: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
  const precommands = columns('precommands');
  for (const column of ['srv', 'role', 'originator']) if (!precommands.includes(column)) db.exec(`ALTER TABLE precommands ADD COLUMN ${column} TEXT`);
  if (!columns('outbox').includes('addressee')) {
    db.exec('ALTER TABLE outbox ADD COLUMN addressee TEXT');
    // Who an alert was addressed to was not kept: the party it waits for now stands in for its addressee.
    db.exec("UPDATE outbox SET addressee = recipient WHERE kind = 'device-alert'");
  }
  // Which device an alert came from was not kept: only an instruction for all its supplier's devices covers it.
  if (!columns('outbox').includes('device')) db.exec('ALTER TABLE outbox ADD COLUMN device TEXT');
  if (!columns('requests').includes('schema_version')) db.exec("ALTER TABLE requests ADD COLUMN schema_version TEXT NOT NULL DEFAULT '5.4'");
  if (!columns('adt_counts').includes('scope')) {
    db.exec('ALTER TABLE adt_counts RENAME TO adt_counts_unscoped');
    db.exec(ADT_COUNTS);
    // Which of a party's files an old count belonged to is not known: each of its files takes all of it, so a
    // party that had sent many (an SC party's files are all scoped) is quarantined early rather than late.
    db.exec(`INSERT INTO adt_counts SELECT party, '', srv, window_start, count FROM adt_counts_unscoped;
      INSERT INTO adt_counts SELECT DISTINCT c.party, f.supplier, c.srv, c.window_start, c.count FROM adt_counts_unscoped c
        JOIN adt_files f ON f.party = c.party AND f.active = 1 AND f.supplier IS NOT NULL;
      DROP TABLE adt_counts_unscoped`);
  }
  // Only an ESME has a second element: the first version let any type carry twin, and such a row could then
  // neither be updated (twin false is another kind) nor registered again as it was (twin true is refused).
  db.exec(`UPDATE devices SET variant = json_set(variant, '$.twin', json('false')) WHERE type <> 'ESME' AND json_extract(variant, '$.twin')`);
}

/**
 * Compiles each SQL text once: the DCC runs the same few dozen statements for every request, and compiling one
 * costs about as much as running it. Statements here are only run (get/all/run), never switched to raw, pluck
 * or iterate mode, so sharing one per text is safe.
 */
function cacheStatements(db: Db): void {
  const compile = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let statement = cache.get(sql);
    if (!statement) cache.set(sql, (statement = compile(sql)));
    return statement;
  }) as Db['prepare'];
}

export function getMeta(db: Db, key: string): string | undefined {
  return (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

export function setMeta(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
}

/** A page of a table read in id order: the rows after `afterId`, at most `limit` of them. */
export interface Page {
  afterId?: number;
  limit?: number;
}

/**
 * `select` (a SELECT ... FROM one table) with a WHERE of the equalities given and the page, in id order. A filter
 * left undefined is left out: written as "? IS NULL OR col = ?" SQLite reads every row instead of the index.
 */
export function pagedQuery(select: string, equal: Record<string, string | undefined>, page: Page): { sql: string; params: Record<string, string | number> } {
  const where: string[] = [];
  const params: Record<string, string | number> = {};
  for (const [column, value] of Object.entries(equal)) if (value !== undefined) (where.push(`${column} = @${column}`), (params[column] = value));
  if (page.afterId !== undefined) (where.push('id > @afterId'), (params.afterId = page.afterId));
  const limit = page.limit === undefined ? '' : ((params.limit = page.limit), ' LIMIT @limit');
  return { sql: `${select}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id${limit}`, params };
}
