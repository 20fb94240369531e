/**
 * A load generator for the mock DCC's DUIS gateway, run from another process than the DCC, on loopback. Each
 * simulated User is a registered supplier with its own meter and sends one request at a time (RequestID counters
 * must increase per User), so the number of Users is the offered concurrency. Bounded in count and in time.
 *
 * A 503 is the gateway's retryable "at capacity": the User waits as Retry-After says (with jitter, capped) and
 * sends the same signed request again (a refused-before-reading request consumed nothing). Every exchange is
 * timed; the report gives throughput, latency percentiles and what the DCC's audit log holds for each User, so a
 * caller can check that every request the DCC answered 200 to is accounted for.
 */
import { type KeyObject } from 'node:crypto';
import type { RequestBody } from '../protocol/duis/index.ts';
import { parseEui, type Eui } from '../protocol/smki/eui.ts';
import { DccAdminClient } from '../harness/admin-client.ts';
import { fetchDccResolver } from '../harness/agents/dcc-verifier.ts';
import { CounterSource, type DccUrl, UserAgent } from '../harness/agents/user-agent.ts';

export interface LoadOptions {
  dccUrl: string;
  /** Simulated Users, each with one request in flight at most. */
  users: number;
  /** Requests to complete (a switch counts its CV 4 and CV 5 as two). */
  requests: number;
  /** Stop issuing after this long; requests in flight are finished. */
  maxSeconds: number;
  /** transform: CV 4 only (the gateway, checks and transform); switch: CV 4 then CV 5 to an emulated meter. */
  mix: 'transform' | 'switch';
  /** Longest wait after a 503, whatever Retry-After says (ms). */
  maxRetryWaitMs?: number;
  /** Distinguishes the parties of several runs against one DCC. */
  runId?: number;
  log?: (line: string) => void;
}

export interface Latency {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface LoadReport {
  users: number;
  seconds: number;
  /** HTTP exchanges by status. */
  statuses: Record<string, number>;
  /** DUIS response codes of the 200 answers. */
  codes: Record<string, number>;
  /** Requests the DCC processed (answered 200) per second. */
  throughput: number;
  /** Latency of 200 answers and of 503 answers, in ms. */
  latency: { ok: Latency; overloaded: Latency };
  /** 503 answers that carried a Retry-After header. */
  retryAfterGiven: number;
  /** Per User: 200 answers received, and request rows the DCC's audit log holds (they must match). */
  accounting: { user: Eui; answered: number; audited: number; open: number }[];
  /** Exchanges that failed at the transport (connection reset, timeout): must be none. */
  errors: string[];
}

const credit: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } };

function percentiles(samples: number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => Math.round((s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0) * 10) / 10;
  return { count: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) };
}

interface Sim {
  eui: Eui;
  meter: Eui;
  agent: UserAgent;
  key: KeyObject;
  answered: number;
}

/** Registers the Users (XML and GBCS keys) and their meters through the admin API. */
async function register(o: LoadOptions): Promise<Sim[]> {
  const admin = new DccAdminClient(o.dccUrl);
  const verifier = await fetchDccResolver(o.dccUrl);
  const counters = new CounterSource();
  const run = (o.runId ?? Date.now()) & 0xfff;
  const sims: Sim[] = [];
  for (let i = 0; i < o.users; i++) {
    const tag = `${run.toString(16).padStart(3, '0')}${i.toString(16).padStart(3, '0')}`.toUpperCase();
    const eui = parseEui(`90B3D51F3A${tag}`);
    const meter = parseEui(`00DB00000A${tag}`);
    await admin.party({ eui, name: `load user ${i}`, roles: ['IS'], endpoint: null });
    const ds = await admin.gbcsSigner(eui);
    await admin.certificate(eui, 'organisation-ka');
    await admin.device({ eui: meter, type: 'ESME', supplier: eui, initialState: { paymentMode: 'prepayment' } });
    const xml = await admin.xmlSigner(eui);
    sims.push({ eui, meter, key: ds.privateKey, answered: 0, agent: new UserAgent({ eui, name: `load ${i}`, xml, gbcsSigner: ds.privateKey }, { dccUrl: o.dccUrl, counters, dccVerifier: verifier }) });
  }
  return sims;
}

export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const log = o.log ?? (() => {});
  log(`registering ${o.users} Users and their meters`);
  const sims = await register(o);
  const statuses: Record<string, number> = {};
  const codes: Record<string, number> = {};
  const ok: number[] = [];
  const overloaded: number[] = [];
  const errors: string[] = [];
  let retryAfterGiven = 0;
  let budget = o.requests;
  const deadline = Date.now() + o.maxSeconds * 1000;
  const more = () => budget > 0 && Date.now() < deadline;

  /** Posts until the DCC processes it (anything but 503); returns the body, or null on a transport error. */
  const exchange = async (sim: Sim, url: DccUrl, xml: string): Promise<string | null> => {
    for (;;) {
      const t0 = performance.now();
      let res: Response;
      let text: string;
      try {
        res = await fetch(`${o.dccUrl}/api/v1/${url}`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: xml, signal: AbortSignal.timeout(120_000) });
        text = await res.text();
      } catch (e) {
        errors.push(`${url}: ${(e as Error).message}`);
        return null;
      }
      const ms = performance.now() - t0;
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status !== 503) {
        if (res.status === 200) {
          ok.push(ms);
          sim.answered++;
          const code = /<sr:ResponseCode>(\w+)</.exec(text)?.[1] ?? '?';
          codes[code] = (codes[code] ?? 0) + 1;
        }
        return text;
      }
      overloaded.push(ms);
      const after = Number(res.headers.get('retry-after'));
      if (Number.isFinite(after) && after > 0) retryAfterGiven++;
      const wait = Math.min(o.maxRetryWaitMs ?? 1000, (Number.isFinite(after) ? after : 1) * 1000) * (0.5 + Math.random());
      await new Promise((r) => setTimeout(r, wait));
    }
  };

  const user = async (sim: Sim) => {
    while (more()) {
      budget--;
      const cv4 = sim.agent.request({ target: sim.meter, srv: '1.6', cv: 4, body: credit });
      const reply = await exchange(sim, 'serviceT', sim.agent.sign(cv4));
      if (o.mix === 'transform' || !reply) continue;
      const pre = /<sr:GBCSPayload>([^<]+)</.exec(reply)?.[1];
      if (!pre || !more()) continue;
      budget--;
      const cv5 = { ...cv4, header: { ...cv4.header, commandVariant: 5 as const }, body: { kind: 'SignedPreCommand' as const, gbcsPayload: sim.agent.signPreCommand(Buffer.from(pre, 'base64'), sim.key) } };
      await exchange(sim, 'serviceS', sim.agent.sign(cv5));
    }
  };

  log(`sending: ${o.users} Users, up to ${o.requests} requests or ${o.maxSeconds} s, mix ${o.mix}`);
  const started = performance.now();
  await Promise.all(sims.map(user));
  const seconds = (performance.now() - started) / 1000;

  // What the DCC says it received: one audit row per 200 answer, each with a terminal outcome once settled.
  const admin = new DccAdminClient(o.dccUrl);
  const accounting: LoadReport['accounting'] = [];
  for (const sim of sims) {
    let rows = await admin.requests({ user: sim.eui });
    for (let i = 0; i < 100 && rows.some((r) => !r.outcome); i++) {
      await new Promise((r) => setTimeout(r, 100));
      rows = await admin.requests({ user: sim.eui });
    }
    accounting.push({ user: sim.eui, answered: sim.answered, audited: rows.length, open: rows.filter((r) => !r.outcome).length });
  }
  return {
    users: o.users,
    seconds: Math.round(seconds * 100) / 100,
    statuses,
    codes,
    throughput: Math.round((ok.length / seconds) * 10) / 10,
    latency: { ok: percentiles(ok), overloaded: percentiles(overloaded) },
    retryAfterGiven,
    accounting,
    errors,
  };
}
