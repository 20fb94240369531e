/**
 * A User's HTTP endpoint: where the DCC POSTs asynchronous responses, device alerts and DCC alerts. It verifies
 * the DCC's signature on each, keeps them in arrival order, and lets a caller wait for one that matches. It can
 * also play a slow or dead endpoint (for delivery tests): answer 503, or hold the request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type DuisResponse, type RequestId, type SignerResolver, verifyResponse } from '../../protocol/duis/index.ts';

export interface Delivery {
  at: Date;
  path: string;
  xml: string;
  /** Null when the DCC signature or the document did not verify; `problem` says why. */
  response: DuisResponse | null;
  problem: string | null;
}

/** The largest delivery the endpoint reads. */
export const MAX_DELIVERY_BYTES = 2 * 2 ** 20;

export type EndpointBehaviour = { kind: 'accept' } | { kind: 'refuse'; status: number } | { kind: 'hang' };

export class UserEndpoint {
  readonly deliveries: Delivery[] = [];
  behaviour: EndpointBehaviour = { kind: 'accept' };
  private readonly waiters: { match: (d: Delivery) => boolean; resolve: (d: Delivery) => void; fail: (e: Error) => void }[] = [];
  private readonly claimed = new WeakSet<Delivery>();
  private readonly hung = new Set<ServerResponse>();
  /** Sees every delivery (the harness records traffic per step). */
  onDelivery: ((d: Delivery) => void) | null = null;
  private server: Server | null = null;
  private port = 0;

  /** Verifies the DCC's signature on each delivery (replaceable: a test may learn the DCC's certificate late). */
  constructor(public dccVerifier: SignerResolver<unknown>) {}

  async listen(port = 0): Promise<string> {
    this.server = createServer((req, res) => this.receive(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/smartdcc/duis`;
  }

  async close(): Promise<void> {
    // A wait can end no other way now: its timer would otherwise keep the process alive until it fires.
    for (const w of this.waiters.splice(0)) w.fail(new Error(`the endpoint ${this.url} closed while waiting`));
    for (const res of this.hung) res.destroy();
    this.hung.clear();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  private receive(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      if (size > MAX_DELIVERY_BYTES) return;
      size += c.length;
      // More than any DUIS response could be (the verifier reads at most 1 MiB): refused, not held in memory.
      if (size > MAX_DELIVERY_BYTES) {
        chunks.length = 0;
        res.writeHead(413, { connection: 'close' }).end(() => req.destroy());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_DELIVERY_BYTES) return;
      const b = this.behaviour;
      if (b.kind === 'refuse') {
        res.writeHead(b.status).end();
        return;
      }
      if (b.kind === 'hang') {
        this.hung.add(res);
        return;
      }
      const xml = Buffer.concat(chunks).toString('utf8');
      const verified = verifyResponse(xml, this.dccVerifier);
      const delivery: Delivery = {
        at: new Date(),
        path: req.url ?? '/',
        xml,
        response: verified.ok ? verified.value.response : null,
        problem: verified.ok ? null : verified.error.toString(),
      };
      this.deliveries.push(delivery);
      this.onDelivery?.(delivery);
      res.writeHead(200).end();
      for (const w of [...this.waiters]) {
        if (w.match(delivery)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(delivery);
        }
      }
    });
  }

  /**
   * Like waitFor, for a delivery no earlier claim took, which this one then takes: an alert answers one
   * expectation, so a step cannot pass on an alert an earlier step already counted.
   */
  claim(match: (d: Delivery) => boolean, timeoutMs = 10_000, what = 'a delivery'): Promise<Delivery> {
    // Taken the moment it matches: a delivery resolving two claims waiting at once would answer both.
    const take = (x: Delivery) => {
      if (this.claimed.has(x) || !match(x)) return false;
      this.claimed.add(x);
      return true;
    };
    return this.waitFor(take, timeoutMs, what);
  }

  /** Whether a delivery no claim took matches. */
  hasUnclaimed(match: (d: Delivery) => boolean): boolean {
    return this.deliveries.some((d) => !this.claimed.has(d) && match(d));
  }

  /** The first delivery (already here or still to come) that matches, or a rejection after `timeoutMs`. */
  waitFor(match: (d: Delivery) => boolean, timeoutMs = 10_000, what = 'a delivery'): Promise<Delivery> {
    const found = this.deliveries.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no ${what} at ${this.url} within ${timeoutMs} ms (${this.deliveries.length} received)`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (d: Delivery) => {
          clearTimeout(timer);
          resolve(d);
        },
        fail: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(waiter);
    });
  }
}

/** Matches a delivery by RequestID (responses) or alert code (device and DCC alerts). */
export const byRequestId = (id: RequestId) => (d: Delivery) => {
  const got = d.response?.header.requestId;
  return got !== undefined && got.counter === id.counter && got.user === id.user && got.target === id.target;
};
/** By counter alone: for tests whose counters are unique among what they wait for. */
export const byRequestCounter = (counter: bigint) => (d: Delivery) => d.response?.header.requestId?.counter === counter;
export const byDeviceAlert = (code: string) => (d: Delivery) => d.response?.body.kind === 'DeviceAlertMessage' && d.response.body.alertCode === code;
export const byDccAlert = (code: string) => (d: Delivery) => d.response?.body.kind === 'DCCAlertMessage' && d.response.body.dccAlertCode === code;
