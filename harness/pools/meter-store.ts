/**
 * Durable state for emulated meters hosted by a long-running mock DCC (`smets-hil dcc serve`): each meter's
 * exported state after every command it handles, the seed its keys derive from, and the S1SP's next
 * instruction id. A restarted (or kill -9'd) service brings its meters back exactly as they were, so no meter
 * forgets a command it applied or accepts one twice.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { makeDirectory } from '../../devices/directories.ts';

export class MeterStore {
  private readonly db: Database.Database;
  private readonly save: Database.Statement<[string, string]>;

  constructor(readonly path: string) {
    makeDirectory(dirname(path));
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS meters (eui TEXT PRIMARY KEY, state TEXT NOT NULL);
                  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`);
    this.save = this.db.prepare('INSERT INTO meters (eui, state) VALUES (?, ?) ON CONFLICT (eui) DO UPDATE SET state = excluded.state');
  }

  /** The seed the hosted meters' keys (and the S1SP key) derive from, created on first use. */
  seed(): string {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'seed'").get() as { value: string } | undefined;
    if (row) return row.value;
    // The first seed written stays (two first starts at once must not each key their meters differently).
    this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('seed', ?)").run(randomBytes(16).toString('hex'));
    return this.seed();
  }

  /** Runs `writes` as one transaction. */
  transaction(writes: () => void): void {
    this.db.transaction(writes)();
  }

  get(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  set(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  load(eui: string): string | undefined {
    return (this.db.prepare('SELECT state FROM meters WHERE eui = ?').get(eui) as { state: string } | undefined)?.state;
  }

  store(eui: string, state: string): void {
    this.save.run(eui, state);
  }

  close(): void {
    this.db.close();
  }
}
