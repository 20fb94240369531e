/**
 * Leases on rig devices, shared by every process on the host (nightly jobs, people at the bench) through one
 * SQLite file in a lock directory: acquire with a holder and a TTL, renew, release, and who holds what. A lease
 * is gone when its TTL runs out, and at once when its holder's process is gone on this host (a crashed run
 * frees its devices without waiting). Health marks live beside the leases: a device marked unhealthy is not
 * allocated until a check passes again. Time, host name and process liveness are injectable for tests.
 */
import Database from 'better-sqlite3';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirectory } from '../directories.ts';
import { RigSetupError } from './rig-files.ts';

export interface Holder {
  /** Who: a person or a job ("alice", "nightly-mp134b"). */
  name: string;
  /** The holding process; 0 for a person's lease taken from the command line, which lasts its TTL. */
  pid: number;
  host: string;
}

export interface Lease {
  rig: string;
  device: string;
  holder: Holder;
  acquiredAt: number;
  expiresAt: number;
}

export interface Health {
  healthy: boolean;
  reason: string | null;
  checkedAt: number;
  failures: number;
}

export interface LeaseStoreOptions {
  now?: () => number;
  host?: string;
  /** Whether a process of this host is alive (default: kill(pid, 0)). */
  isAlive?: (pid: number) => boolean;
}

export function defaultLeaseDir(): string {
  return process.env.SMETS_HIL_LEASE_DIR ?? join(tmpdir(), 'smets-hil-leases');
}

export function currentHolder(name = process.env.SMETS_HIL_HOLDER ?? process.env.USER ?? 'smets-hil'): Holder {
  return { name, pid: process.pid, host: hostname() };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Row {
  rig: string;
  device: string;
  holder: string;
  pid: number;
  host: string;
  acquired_at: number;
  expires_at: number;
}

export class LeaseStore {
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly host: string;
  private readonly isAlive: (pid: number) => boolean;

  constructor(
    readonly dir: string = defaultLeaseDir(),
    o: LeaseStoreOptions = {},
  ) {
    try {
      makeDirectory(dir);
      this.db = new Database(join(dir, 'leases.sqlite'));
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('busy_timeout = 10000');
      this.db.exec(`CREATE TABLE IF NOT EXISTS leases (rig TEXT, device TEXT, holder TEXT, pid INTEGER, host TEXT, acquired_at INTEGER, expires_at INTEGER, PRIMARY KEY (rig, device));
                    CREATE TABLE IF NOT EXISTS health (rig TEXT, device TEXT, healthy INTEGER, reason TEXT, checked_at INTEGER, failures INTEGER, PRIMARY KEY (rig, device));`);
    } catch (e) {
      throw new RigSetupError(`cannot keep leases in ${dir}: ${(e as Error).message}`);
    }
    this.now = o.now ?? Date.now;
    this.host = o.host ?? hostname();
    this.isAlive = o.isAlive ?? pidAlive;
  }

  /** A live lease on the device, or null: expired ones and those of dead local processes do not count. */
  holderOf(rig: string, device: string): Lease | null {
    const row = this.db.prepare('SELECT * FROM leases WHERE rig = ? AND device = ?').get(rig, device) as Row | undefined;
    return row && this.live(row) ? toLease(row) : null;
  }

  /** Takes the device for `ttlMs`, or answers who holds it. The same holder acquiring again renews. */
  acquire(rig: string, device: string, holder: Holder, ttlMs: number): { ok: true; lease: Lease } | { ok: false; heldBy: Lease } {
    return this.db.transaction(() => {
      const current = this.holderOf(rig, device);
      if (current && !sameHolder(current.holder, holder)) return { ok: false as const, heldBy: current };
      const now = this.now();
      const lease: Lease = { rig, device, holder, acquiredAt: current?.acquiredAt ?? now, expiresAt: now + ttlMs };
      this.db
        .prepare('INSERT INTO leases VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rig, device) DO UPDATE SET holder = excluded.holder, pid = excluded.pid, host = excluded.host, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at')
        .run(rig, device, holder.name, holder.pid, holder.host, lease.acquiredAt, lease.expiresAt);
      return { ok: true as const, lease };
    }).immediate();
  }

  /** Extends the holder's lease; false when it is no longer theirs (expired and taken, or released). */
  renew(rig: string, device: string, holder: Holder, ttlMs: number): boolean {
    return this.db.transaction(() => {
      const current = this.holderOf(rig, device);
      if (!current || !sameHolder(current.holder, holder)) return false;
      this.db.prepare('UPDATE leases SET expires_at = ? WHERE rig = ? AND device = ?').run(this.now() + ttlMs, rig, device);
      return true;
    }).immediate();
  }

  /** Gives the device back; only its holder may, unless forced. */
  release(rig: string, device: string, holder: Holder | null, o: { force?: boolean } = {}): boolean {
    return this.db.transaction(() => {
      const current = this.holderOf(rig, device);
      if (!current) return false;
      if (!o.force && (!holder || !sameHolder(current.holder, holder))) return false;
      this.db.prepare('DELETE FROM leases WHERE rig = ? AND device = ?').run(rig, device);
      return true;
    }).immediate();
  }

  /** Live leases of a rig (or of every rig). */
  leases(rig?: string): Lease[] {
    const rows = (rig ? this.db.prepare('SELECT * FROM leases WHERE rig = ? ORDER BY device').all(rig) : this.db.prepare('SELECT * FROM leases ORDER BY rig, device').all()) as Row[];
    return rows.filter((r) => this.live(r)).map(toLease);
  }

  markHealth(rig: string, device: string, healthy: boolean, reason: string | null): Health {
    const prev = this.health(rig, device);
    const h: Health = { healthy, reason, checkedAt: this.now(), failures: healthy ? 0 : (prev?.failures ?? 0) + 1 };
    this.db
      .prepare('INSERT INTO health VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (rig, device) DO UPDATE SET healthy = excluded.healthy, reason = excluded.reason, checked_at = excluded.checked_at, failures = excluded.failures')
      .run(rig, device, healthy ? 1 : 0, reason, h.checkedAt, h.failures);
    return h;
  }

  health(rig: string, device: string): Health | null {
    const r = this.db.prepare('SELECT * FROM health WHERE rig = ? AND device = ?').get(rig, device) as { healthy: number; reason: string | null; checked_at: number; failures: number } | undefined;
    return r ? { healthy: r.healthy === 1, reason: r.reason, checkedAt: r.checked_at, failures: r.failures } : null;
  }

  close(): void {
    this.db.close();
  }

  private live(r: Row): boolean {
    if (r.expires_at <= this.now()) return false;
    // A holder on this host whose process is gone holds nothing.
    return r.pid <= 0 || r.host !== this.host || this.isAlive(r.pid);
  }
}

function sameHolder(a: Holder, b: Holder): boolean {
  return a.name === b.name && a.pid === b.pid && a.host === b.host;
}

function toLease(r: Row): Lease {
  return { rig: r.rig, device: r.device, holder: { name: r.holder, pid: r.pid, host: r.host }, acquiredAt: r.acquired_at, expiresAt: r.expires_at };
}
