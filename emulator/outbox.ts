/**
 * At-least-once delivery of DCC-signed responses and alerts to Users' endpoints, from a durable outbox. One
 * queue per endpoint, delivered in order with exponential backoff; a slow or dead endpoint holds up only its
 * own queue. A message is marked delivered only after a 2xx answer, so a crash in between means one more
 * delivery after restart, never none. A message for a User with no endpoint yet waits, kept, until one is
 * registered (`route`) or the DCC sends it elsewhere (`reroute`, asked again every maxBackoffMs meanwhile). A
 * device alert is offered to `reroute` wherever it waits, since where it may go depends on its addressee alone
 * (BR7): one queued behind a message its failed supplier's dead endpoint keeps refusing still moves.
 */
import { isStoreRefusal } from './group-commit.ts';
import type { Db } from './store.ts';

export type OutboxKind = 'response' | 'device-alert' | 'dcc-alert';

export interface OutboxMessage {
  id: number;
  endpoint: string;
  recipient: string;
  /** A device alert: the User it is addressed to, whom the DCC may route it away from (BR7). */
  addressee: string | null;
  /** A device alert: the device it came from (which contingency party may have it depends on it, BR7). */
  device: string | null;
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
  /**
   * The DCC's clock, for the times a message records (queued, delivered), as its audit log records requests.
   * Retries wait in real time: an endpoint's outage is not shortened by advancing the DCC's clock.
   */
  now?: () => Date;
}

/**
 * Where a message should go now, if no longer where it was queued: asked at each delivery attempt, and of a
 * message waiting for an endpoint every maxBackoffMs and at `rerouteWaiting` (the DCC moves a failed supplier's
 * alerts to its SRP this way, MP134B BR7). null, or where it is, leaves it there; NO_ENDPOINT_YET keeps it
 * waiting for `recipient`, with `waiting` saying why.
 */
export type Reroute = (m: { kind: OutboxKind; recipient: string; endpoint: string; addressee: string | null; device: string | null }) => { recipient: string; endpoint: string; waiting?: string } | null;

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

/**
 * The queries run at every kick (once per commit group): each is an index seek on outbox_pending, so their cost
 * does not grow with a dead endpoint's backlog.
 */
export const KICK_QUERIES = {
  /** The next endpoint after `?` with something undelivered ('' is below every endpoint). */
  nextEndpoint: 'SELECT min(endpoint) AS e FROM outbox WHERE delivered_at IS NULL AND endpoint > ?',
  /** When the first undelivered message of endpoint `?` is due. */
  headDue: 'SELECT next_attempt_at AS t FROM outbox WHERE delivered_at IS NULL AND endpoint = ? ORDER BY id LIMIT 1',
  /** Anything undelivered with an endpoint. */
  anyPending: "SELECT 1 FROM outbox WHERE delivered_at IS NULL AND endpoint > '' LIMIT 1",
} as const;

/** Waiting messages that go wherever one of them goes. */
interface WaitingGroup {
  kind: OutboxKind;
  recipient: string;
  endpoint: string;
  addressee: string | null;
  device: string | null;
  last_error: string | null;
}

interface Destination {
  recipient: string;
  endpoint: string;
  /** Why it waits, at NO_ENDPOINT_YET. */
  waiting: string | null;
}

function noEndpointYet(recipient: string): string {
  return `${recipient} has no endpoint registered: kept until it has one`;
}

export class Outbox {
  private readonly active = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires (Date.now() time). */
  private timerDue = Infinity;
  /** When messages waiting for an endpoint are next offered to `reroute` (Date.now() time). */
  private waitingLookDue = 0;
  private stopped = false;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly timeoutMs: number;
  private readonly post: NonNullable<OutboxOptions['post']>;
  private readonly now: () => Date;
  private readonly idleWaiters: (() => void)[] = [];

  private readonly commits: OutboxCommits;
  /** Messages being POSTed now: not moved under drain, which asks where they go before its next attempt. */
  private readonly posting = new Set<number>();
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
    this.now = options.now ?? (() => new Date());
  }

  /** Queues a message; call inside the transaction that records what it reports. `waiting`: why it has no endpoint. */
  enqueue(m: { endpoint: string; recipient: string; addressee?: string; device?: string; kind: OutboxKind; requestRow: number | null; body: string; waiting?: string }): number {
    const waiting = m.endpoint === NO_ENDPOINT_YET ? (m.waiting ?? noEndpointYet(m.recipient)) : null;
    const info = this.db
      .prepare('INSERT INTO outbox (endpoint, recipient, addressee, device, kind, request_row, body, created_at, next_attempt_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(m.endpoint, m.recipient, m.addressee ?? null, m.device ?? null, m.kind, m.requestRow, m.body, this.now().toISOString(), 0, waiting);
    return Number(info.lastInsertRowid);
  }

  /** Sends what waits for `recipient` (queued while it had no endpoint) to `endpoint`; call inside a write, then kick. */
  route(recipient: string, endpoint: string): void {
    this.db.prepare('UPDATE outbox SET endpoint = ?, last_error = NULL WHERE recipient = ? AND endpoint = ? AND delivered_at IS NULL').run(endpoint, recipient, NO_ENDPOINT_YET);
  }

  /**
   * Offers every message waiting for an endpoint, and every device alert not yet delivered, to `reroute` (call
   * inside a write, then kick): where one goes can change with no endpoint registered, as when a supplier whose
   * alerts wait fails (BR7). Says whether any moved.
   */
  rerouteWaiting(): boolean {
    const moves = this.waitingMoves();
    for (const m of moves) this.move(m.id, m.to);
    return moves.length > 0;
  }

  /**
   * rerouteWaiting in a write of its own, and what moved sent: for a change the DCC learns of outside a write, or
   * of time alone. A store refusing writes now leaves the messages where they are, for the next look.
   */
  rerouteWaitingNow(): void {
    const moves = this.waitingMoves();
    if (!moves.length) return;
    try {
      this.commits.write(() => moves.forEach((m) => this.move(m.id, m.to)));
    } catch (e) {
      if (!isStoreRefusal(e)) throw e;
      return;
    }
    this.kick();
  }

  /**
   * Where the waiting messages go now: those waiting for an endpoint, and the device alerts queued at one (each an
   * index seek on its own partial index). `reroute` is asked once per kind of message (kind, recipient, endpoint,
   * addressee, device and why it waits decide where one goes), not once per message: a User with no endpoint may
   * have tens of thousands of responses waiting. Only the messages that move are written.
   */
  private waitingMoves(): { id: number; to: Destination }[] {
    const columns = 'id, kind, recipient, endpoint, addressee, device, last_error';
    const waiting = this.db.prepare(`SELECT ${columns} FROM outbox WHERE endpoint = ? AND delivered_at IS NULL ORDER BY id`).all(NO_ENDPOINT_YET);
    const alerts = this.db.prepare(`SELECT ${columns} FROM outbox WHERE kind = 'device-alert' AND delivered_at IS NULL AND endpoint != ? ORDER BY id`).all(NO_ENDPOINT_YET);
    const rows = ([...waiting, ...alerts] as (WaitingGroup & { id: number })[]).sort((a, b) => a.id - b.id);
    const asked = new Map<string, Destination | null>();
    const moves: { id: number; to: Destination }[] = [];
    for (const { id, ...group } of rows) {
      if (this.posting.has(id)) continue;
      const key = JSON.stringify([group.kind, group.recipient, group.endpoint, group.addressee, group.device, group.last_error]);
      let to = asked.get(key);
      if (to === undefined) asked.set(key, (to = this.destination(group)));
      if (to) moves.push({ id, to });
    }
    return moves;
  }

  /**
   * Where `reroute` says `m` goes now, if not where it is; a message that stays waiting where it is moves only
   * when why it waits has changed (its addressee has failed since it was queued for want of an endpoint, say).
   */
  private destination(m: Parameters<Reroute>[0] & { last_error: string | null }): Destination | null {
    const to = this.reroute(m);
    if (!to) return null;
    const waiting = to.endpoint === NO_ENDPOINT_YET ? (to.waiting ?? noEndpointYet(to.recipient)) : null;
    const same = to.recipient === m.recipient && to.endpoint === m.endpoint;
    if (same && (to.endpoint !== NO_ENDPOINT_YET || waiting === m.last_error)) return null;
    return { recipient: to.recipient, endpoint: to.endpoint, waiting };
  }

  private move(id: number, to: Destination): void {
    // Ids order every queue: at its new endpoint it goes out before whatever was queued after it.
    this.db.prepare('UPDATE outbox SET recipient = ?, endpoint = ?, next_attempt_at = 0, last_error = ? WHERE id = ?').run(to.recipient, to.endpoint, to.waiting, id);
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
    // Waiting messages are looked at again now and then: where the DCC sends one may change with time alone (an
    // instruction that starts, a certificate revoked with delay). What moves goes out at the kick after its commit.
    if (Date.now() >= this.waitingLookDue) {
      this.waitingLookDue = Date.now() + this.maxBackoffMs;
      this.rerouteWaitingNow();
    }
    // Called once a commit is done: every message queued so far is durable, and none after this may go out
    // before the next kick (the same connection sees rows a later group has not committed yet).
    this.horizon = (this.db.prepare('SELECT max(id) AS id FROM outbox').get() as { id: number | null }).id ?? 0;
    const endpoints = this.endpointsWithPending();
    for (const endpoint of endpoints) {
      if (!this.active.has(endpoint)) {
        const run = this.drain(endpoint).finally(() => {
          this.active.delete(endpoint);
          this.schedule();
          if (this.active.size === 0 && !this.hasPending()) for (const w of this.idleWaiters.splice(0)) w();
        });
        this.active.set(endpoint, run);
      }
    }
    this.schedule(endpoints);
  }

  /** Messages not yet delivered that have somewhere to go (those waiting for an endpoint are not counted). */
  pending(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM outbox WHERE delivered_at IS NULL AND endpoint != ?').get(NO_ENDPOINT_YET) as { n: number }).n;
  }

  /** pending() > 0, without counting them: asked each time a queue drains. */
  private hasPending(): boolean {
    return this.db.prepare(KICK_QUERIES.anyPending).get() !== undefined;
  }

  /**
   * The endpoints with something undelivered, one index seek each: a dead endpoint's backlog (tens of thousands
   * of rows in a soak) is stepped over, not read, at every kick. NO_ENDPOINT_YET is '', below every endpoint.
   */
  private endpointsWithPending(): string[] {
    const next = this.db.prepare(KICK_QUERIES.nextEndpoint);
    const out: string[] = [];
    for (let e = (next.get(NO_ENDPOINT_YET) as { e: string | null }).e; e !== null; e = (next.get(e) as { e: string | null }).e) out.push(e);
    return out;
  }

  /** Resolves when nothing is left to deliver (tests, graceful shutdown). */
  idle(): Promise<void> {
    if (!this.hasPending() && this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Arms the timer for the earliest retry among endpoints not being drained: each queue is delivered in order,
   * so only its first message counts (a drain in progress, or messages behind one in backoff, would make the
   * timer fire at once, again and again). An armed timer that fires later than needed is brought forward.
   * `endpoints`: those with something undelivered, when the caller has just looked them up.
   */
  private schedule(endpoints = this.endpointsWithPending()): void {
    if (this.stopped) return;
    const head = this.db.prepare(KICK_QUERIES.headDue);
    let due = Infinity;
    for (const endpoint of endpoints) {
      if (this.active.has(endpoint)) continue;
      const h = head.get(endpoint) as { t: number } | undefined;
      if (h) due = Math.min(due, h.t);
    }
    if (this.db.prepare('SELECT 1 FROM outbox WHERE endpoint = ? AND delivered_at IS NULL LIMIT 1').get(NO_ENDPOINT_YET)) due = Math.min(due, this.waitingLookDue);
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
      const row = nextDue.get(endpoint, this.horizon) as (Omit<OutboxMessage, 'requestRow'> & { request_row: number | null; next_attempt_at: number; last_error: string | null }) | undefined;
      if (!row) return;
      const to = this.destination(row);
      if (to) {
        if (!(await this.drainWrite(() => this.move(row.id, to)))) return;
        this.kick();
        continue;
      }
      if (row.next_attempt_at > Date.now()) return;
      const ac = new AbortController();
      const timeout = setTimeout(() => ac.abort(), this.timeoutMs);
      let error: string | null = null;
      this.posting.add(row.id);
      try {
        const status = await this.post(endpoint, row.body, ac.signal);
        if (status < 200 || status >= 300) error = `HTTP ${status}`;
      } catch (e) {
        error = ac.signal.aborted ? `no answer within ${this.timeoutMs} ms` : (e as Error).message;
      } finally {
        clearTimeout(timeout);
        this.posting.delete(row.id);
      }
      // Marks join the group commit: one lost in a crash means one more delivery, as at-least-once allows.
      if (error === null) {
        if (!(await this.drainWrite(() => this.db.prepare('UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?').run(this.now().toISOString(), row.id)))) return;
      } else {
        const backoff = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** row.attempts);
        const jitter = Math.floor(Math.random() * backoff * 0.2);
        await this.drainWrite(() => this.db.prepare('UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?').run(error, Date.now() + backoff + jitter, row.id));
        return;
      }
    }
  }

  /**
   * One of drain's writes. A store refusing writes (a full disk, an I/O error) leaves the message as it was, to be
   * tried again after a pause: delivered once more at worst, as at-least-once allows, and the DCC carries on.
   * Says whether the write was taken.
   */
  private async drainWrite(step: () => void): Promise<boolean> {
    try {
      this.commits.write(step);
      return true;
    } catch (e) {
      if (!isStoreRefusal(e)) throw e;
      await new Promise((resolve) => setTimeout(resolve, this.initialBackoffMs));
      return false;
    }
  }
}
