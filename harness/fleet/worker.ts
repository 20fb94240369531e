/**
 * A worker thread running one fleet shard, driven by messages from the coordinator (run.ts): set up, receive
 * the Authority's instruction, run batches of jobs, check the invariant, close. Replies carry tallies, never
 * meters or messages: shards share nothing but the fleet options.
 */
import { parentPort } from 'node:worker_threads';
import type { Defect } from '../../emulator/service.ts';
import type { InvariantResult } from './invariant.ts';
import type { FleetOptions } from './plan.ts';
import { type CryptoWork, FleetShard, type Tally } from './shard.ts';

export type ToWorker =
  | { type: 'init'; fleet: FleetOptions; shard: number; stateDir: string; concurrency?: number; defects?: readonly Defect[] }
  | { type: 'instruct'; counterBase: string }
  | { type: 'batch'; id: number; from: number; to: number }
  | { type: 'check'; deep: boolean }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; jobs: number; switches: number; adversarial: number; meters: number }
  | { type: 'instructed' }
  | { type: 'batch-done'; id: number; tally: Tally }
  | { type: 'checked'; invariant: InvariantResult; crypto: CryptoWork; strayDeliveries: number }
  | { type: 'closed' }
  | { type: 'error'; message: string };

if (!parentPort) throw new Error('worker.ts runs in a worker thread');
const port = parentPort;
let shard: FleetShard | null = null;
const send = (m: FromWorker) => port.postMessage(m);

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'init': {
      const { fleet, shard: index, stateDir, concurrency, defects } = m;
      shard = await FleetShard.create({ fleet, shard: index, stateDir, ...(concurrency ? { concurrency } : {}), ...(defects ? { defects } : {}) });
      send({ type: 'ready', jobs: shard.jobs.meter.length, switches: shard.jobs.switches, adversarial: shard.jobs.adversarial, meters: shard.devices.size });
      return;
    }
    case 'instruct':
      shard!.instruct(BigInt(m.counterBase));
      send({ type: 'instructed' });
      return;
    case 'batch':
      send({ type: 'batch-done', id: m.id, tally: await shard!.runBatch(m.from, m.to) });
      return;
    case 'check': {
      const crypto = shard!.cryptoSinceInstruction();
      const invariant = await shard!.check({ deep: m.deep });
      send({ type: 'checked', invariant, crypto, strayDeliveries: shard!.strayDeliveries });
      return;
    }
    case 'close':
      await shard?.close();
      shard = null;
      send({ type: 'closed' });
      port.close();
  }
}

port.on('message', (m: ToWorker) => {
  handle(m).catch((e: unknown) => send({ type: 'error', message: (e as Error).stack ?? String(e) }));
});
