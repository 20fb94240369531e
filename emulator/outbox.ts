/**
 * At-least-once delivery of DCC-signed responses and alerts to Users' endpoints, from a durable outbox. One
 * queue per endpoint, delivered in order with exponential backoff; a slow or dead endpoint holds up only its
 * own queue. A message is marked delivered only after a 2xx answer, so a crash in between means one more
 * delivery after restart, never none. A message for a User with no endpoint yet waits, kept, until one is
 * registered (`route`).
 */
import type { Db } from './store.ts';

export type OutboxKind = 'response' | 'device-alert' | 'dcc-alert';

export interface OutboxMessage {
  id: number;
  endpoint: string;
  recipient: string;
  kind: OutboxKind;
  requestRow: number | null;
  body: string;
  attempts: number;
}

export interface OutboxOptions {
  /** First retry delay; doubles per attempt up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Per-POST timeout. */
  timeoutMs?: number;
  /** Replaces fetch (tests). */
  post?: (url: string, body: string, signal: AbortSignal) => Promise<number>;
}

/**
 * Where a message should go now, if no longer where it was queued: asked at each delivery attempt (the DCC moves
 * a failed supplier's waiting alerts to its SRP this way, MP134B BR7). null leaves it where it is.
 */
export type Reroute = (m: { kind: OutboxKind; recipient: string; endpoint: string }) => { recipient: string; endpoint: string } | null;

/** How the outbox writes: on its own (each write commits), or within the DCC's group commit. */
export interface OutboxCommits {
  write<T>(step: () => T): T;
  /** Runs `f` once what has been written is committed, or lost (then `f` sees only what is committed). */
  afterGroup(f: () => void): void;
}

async function httpPost(url: string, body: string, signal: AbortSignal): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/xml' }, body, signal });
  await res.arrayBuffer();
  return res.status;
}

/** The endpoint of a message whose recipient has none yet. */
export const NO_ENDPOINT_YET = '';

export class Outbox {
  private readonly active = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires (Date.now() time). */
  private timerDue = Infinity;
  private stopped = false;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly timeoutMs: number;
  private readonly post: NonNullable<OutboxOptions['post']>;
  private readonly idleWaiters: (() => void)[] = [];

  private readonly commits: OutboxCommits;
  /** The newest message known to be committed: deliveries stop there. */
  private horizon = 0;
  private readonly kickNow = () => this.deliverDue();

  constructor(
    private readonly db: Db,
    options: OutboxOptions = {},
    commits?: OutboxCommits,
    private readonly reroute: Reroute = () => null,
  ) {
    this.commits = commits ?? { write: (step) => db.transaction(step)(), afterGroup: (f) => f() };
    this.initialBackoffMs = options.initialBackoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.post = options.post ?? httpPost;
  }

  /** Queues a message; call inside the transaction that records what it reports. */
  enqueue(m: { endpoint: string; recipient: string; kind: OutboxKind; requestRow: number | null; body: string }): number {
    const waiting = m.endpoint === NO_ENDPOINT_YET ? `${m.recipient} has no endpoint registered: kept until it has one` : null;
    const info = this.db
      .prepare('INSERT INTO outbox (endpoint, recipient, kind, request_row, body, created_at, next_attempt_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(m.endpoint, m.recipient, m.kind, m.requestRow, m.body, new Date().toISOString(), 0, waiting);
    return Number(info.lastInsertRowid);
  }

  /** Sends what waits for `recipient` (queued while it had no endpoint) to `endpoint`; call inside a write, then kick. */
  route(recipient: string, endpoint: string): void {
    this.db.prepare('UPDATE outbox SET endpoint = ?, last_error = NULL WHERE recipient = ? AND endpoint = ? AND delivered_at IS NULL').run(endpoint, recipient, NO_ENDPOINT_YET);
  }

  /** Starts delivering what is queued (including what a previous run left behind). */
  start(): void {
    this.stopped = false;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.disarm();
    await Promise.allSettled([...this.active.values()]);
  }

  /**
   * Looks for due messages once what has been queued is committed: a message goes out only once the outcome
   * it reports is durable.
   */
  kick(): void {
    this.commits.afterGroup(this.kickNow);
  }

  private deliverDue(): void {
    if (this.stopped) return;
    // Called once a commit is done: every message queued so far is durable, and none after this may go out
    // before the next kick (the same connection sees rows a later group has not committed yet).
    this.horizon = (this.db.prepare('SELECT max(id) AS id FROM outbox').get() as { id: number | null }).id ?? 0;
    const endpoints = this.db.prepare('SELECT DISTINCT endpoint FROM outbox WHERE delivered_at IS NULL AND endpoint != ?').all(NO_ENDPOINT_YET) as { endpoint: string }[];
    for (const { endpoint } of endpoints) {
      if (!this.active.has(endpoint)) {
        const run = this.drain(endpoint).finally(() => {
          this.active.delete(endpoint);
          this.schedule();
          if (this.active.size === 0 && this.pending() === 0) for (const w of this.idleWaiters.splice(0)) w();
        });
        this.active.set(endpoint, run);
      }
    }
    this.schedule();
  }

  /** Messages not yet delivered that have somewhere to go (those waiting for an endpoint are not counted). */
  pending(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM outbox WHERE delivered_at IS NULL AND endpoint != ?').get(NO_ENDPOINT_YET) as { n: number }).n;
  }

  /** Resolves when nothing is left to deliver (tests, graceful shutdown). */
  idle(): Promise<void> {
    if (this.pending() === 0 && this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Arms the timer for the earliest retry among endpoints not being drained: each queue is delivered in order,
   * so only its first message counts (a drain in progress, or messages behind one in backoff, would make the
   * timer fire at once, again and again). An armed timer that fires later than needed is brought forward.
   */
  private schedule(): void {
    if (this.stopped) return;
    const heads = this.db
      .prepare('SELECT endpoint, next_attempt_at AS t FROM outbox WHERE id IN (SELECT min(id) FROM outbox WHERE delivered_at IS NULL AND endpoint != ? GROUP BY endpoint)')
      .all(NO_ENDPOINT_YET) as { endpoint: string; t: number }[];
    let due = Infinity;
    for (const h of heads) if (!this.active.has(h.endpoint)) due = Math.min(due, h.t);
    if (due === Infinity || due >= this.timerDue) return;
    this.disarm();
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerDue = Infinity;
      this.kick();
    }, Math.max(0, due - Date.now()));
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = Infinity;
  }

  private async drain(endpoint: string): Promise<void> {
    const nextDue = this.db.prepare('SELECT * FROM outbox WHERE endpoint = ? AND delivered_at IS NULL AND id <= ? ORDER BY id LIMIT 1');
    while (!this.stopped) {
      const row = nextDue.get(endpoint, this.horizon) as (Omit<OutboxMessage, 'requestRow'> & { request_row: number | null; next_attempt_at: number }) | undefined;
      if (!row) return;
      const to = this.reroute(row);
      if (to) {
        // Ids order every queue: at its new endpoint it goes out before whatever was queued after it.
        this.commits.write(() => this.db.prepare('UPDATE outbox SET recipient = ?, endpoint = ?, next_attempt_at = 0, last_error = NULL WHERE id = ?').run(to.recipient, to.endpoint, row.id));
        this.kick();
        continue;
      }
      if (row.next_attempt_at > Date.now()) return;
      const ac = new AbortController();
      const timeout = setTimeout(() => ac.abort(), this.timeoutMs);
      let error: string | null = null;
      try {
        const status = await this.post(endpoint, row.body, ac.signal);
        if (status < 200 || status >= 300) error = `HTTP ${status}`;
      } catch (e) {
        error = ac.signal.aborted ? `no answer within ${this.timeoutMs} ms` : (e as Error).message;
      } finally {
        clearTimeout(timeout);
      }
      // Marks join the group commit: one lost in a crash means one more delivery, as at-least-once allows.
      if (error === null) {
        this.commits.write(() => this.db.prepare('UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?').run(new Date().toISOString(), row.id));
      } else {
        const backoff = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** row.attempts);
        const jitter = Math.floor(Math.random() * backoff * 0.2);
        this.commits.write(() => this.db.prepare('UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?').run(error, Date.now() + backoff + jitter, row.id));
        return;
      }
    }
  }
}
