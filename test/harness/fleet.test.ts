/**
 * Fleet mode on small fleets: the summary, the invariant on every meter, every adversarial request refused and
 * the counts adding up; a seeded DCC defect must turn the run red. No timing assertions: throughput is measured
 * by `npm run bench`, never tested.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deriveDeviceKeys } from '../../devices/smets2/keys.ts';
import { FleetPlan, type FleetOptions, JOB_KINDS, shardJobs } from '../../harness/fleet/plan.ts';
import { runFleet } from '../../harness/fleet/run.ts';
import { FleetShard } from '../../harness/fleet/shard.ts';
import { workerNotes } from '../../harness/commands/fleet.ts';
import { decodeGeneralSigning, encodeGeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { useCaseByCode, useCaseByName } from '../../protocol/gbcs/message-codes.ts';
import { signApdu } from '../../protocol/gbcs/security.ts';
import type { Eui } from '../../protocol/smki/eui.ts';
import { runCli } from '../helpers/cli.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { scratchDir } from '../helpers/scratch.ts';

const SUMMARY_FIELDS = ['commandsApplied', 'commandsPerSecond', 'commandsSent', 'cryptoOps', 'invariantViolations', 'meters', 'peakRssBytes', 'refused', 'seconds'];

const options = (o: Partial<FleetOptions> = {}): FleetOptions => ({ meters: 2000, prepayShare: 0.14, smets1Share: 0.37, adversarialShare: 0.2, workers: 2, seed: 'fleet test', ...o });

test('the plan: shards cover the fleet by disjoint EUI ranges; every failed-supplier prepayment meter gets one switch', (t) => {
  const plan = new FleetPlan(options({ meters: 5000, workers: 3 }));
  let next = 0;
  let switches = 0;
  let prepay = 0;
  for (let k = 0; k < 3; k++) {
    const r = plan.shard(k);
    t.is(r.failed[0], next);
    next = r.failed[1];
    const jobs = shardJobs(plan, r);
    t.is(jobs.meter.length, jobs.switches + jobs.adversarial);
    for (let j = 0; j < jobs.meter.length; j++) {
      const m = plan.meter(jobs.meter[j]!);
      const kind = JOB_KINDS[jobs.kind[j]!];
      if (kind === 'switch') t.true(m.failedSupplier && m.prepay);
      else if (kind === 'other-supplier') t.false(m.failedSupplier);
      else t.true(m.failedSupplier && !m.prepay, `${kind} aims at a Credit meter of the failed supplier`);
      if (kind === 'altered') t.not(m.type, 'SMETS1');
    }
    switches += jobs.switches;
  }
  t.is(next, 5000);
  for (let i = 0; i < 5000; i++) if (plan.meter(i).prepay) prepay++;
  t.is(switches, prepay);
  t.is(plan.meter(1234).eui as string, '00DB0000000004D2');
});

test('2,000 meters on 2 shards: every switch applied, every adversarial request refused, no meter out of line', async (t) => {
  const o = options();
  const progress: { startedAt: number; at: number; done: number }[] = [];
  const report = await runFleet({ ...o, onProgress: (p) => progress.push({ startedAt: p.startedAt, at: performance.now(), done: p.done }) });
  const s = report.summary;
  // Progress counts from the event's start, as `seconds` does: before the first batch was done, within the event.
  t.true(progress.length > 1);
  t.is(new Set(progress.map((p) => p.startedAt)).size, 1, 'one start for the whole event');
  t.true(progress[0]!.startedAt < progress[0]!.at);
  t.true(progress.at(-1)!.at - progress[0]!.startedAt <= s.seconds * 1000 + 1, 'the last update came within the event the summary times');
  t.is(progress.at(-1)!.done, s.commandsSent);
  t.deepEqual(Object.keys(s).sort(), SUMMARY_FIELDS);
  t.deepEqual(Object.keys(s.cryptoOps).sort(), ['ecdh', 'sign', 'verify']);
  t.is(s.meters, 2000);
  t.is(s.invariantViolations, 0, report.invariant.examples.join('\n'));
  t.deepEqual(report.tally.problems, []);
  t.is(report.strayDeliveries, 0, 'every delivery verified and awaited by its job');

  const plan = new FleetPlan(o);
  let prepay = 0;
  for (let i = 0; i < o.meters; i++) if (plan.meter(i).prepay) prepay++;
  t.is(report.tally.switches, prepay);
  t.is(s.commandsApplied, prepay, 'each prepayment meter executed exactly one switch');
  t.true(report.tally.adversarial > 40);
  t.is(s.refused, report.tally.adversarial, 'every adversarial request refused');
  t.is(report.tally.accepted, 0);
  t.is(s.commandsSent, s.commandsApplied + s.refused);
  t.is(report.invariant.checked, plan.total);
  // Prepayment switches and other SRVs: E2; altered Pre-Commands: E12 (correlation); other suppliers' meters: E4.
  for (const code of ['E2', 'E12', 'E4']) t.true((report.tally.codes[code] ?? 0) > 0, code);
  t.is(report.tally.codes.I0, prepay);
  // At least the User's, the DCC's and the device's signatures for every switch, and a MAC for most.
  t.true(s.cryptoOps.sign >= 4 * prepay && s.cryptoOps.verify >= 4 * prepay && s.cryptoOps.ecdh > prepay);
  t.true(s.seconds > 0 && s.commandsPerSecond > 0 && s.peakRssBytes > 0);
  t.true(report.passed);
});

test('a seeded DCC defect letting prepayment switches through turns the run red', async (t) => {
  const report = await runFleet({ ...options({ meters: 1000, workers: 1, adversarialShare: 0.3 }), defects: ['sc-allowed-ecs03'] });
  t.false(report.passed);
  t.true(report.tally.accepted > 0);
  t.true(report.summary.invariantViolations > 0);
  t.true(report.summary.refused < report.tally.adversarial);
});

test('smets-hil fleet --json: the last stdout line is the summary with exactly the issue fields', async (t) => {
  const r = await runCli(['fleet', '--meters', '800', '--workers', '1', '--seed', 'cli', '--json'], { timeoutMs: 120_000 });
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const summary = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
  t.deepEqual(Object.keys(summary).sort(), SUMMARY_FIELDS);
  t.is(summary.meters, 800);
  t.is(summary.invariantViolations, 0);
  t.regex(r.stderr, /PASS/);
});

test('smets-hil fleet refuses nonsense options', async (t) => {
  const r = await runCli(['fleet', '--meters', '0']);
  t.is(r.code, 2);
  t.regex(r.stderr, /--meters/);
});

test('smets-hil fleet on a fleet with no prepayment meter says there was nothing to switch', async (t) => {
  const r = await runCli(['fleet', '--meters', '20', '--prepay-share', '0', '--workers', '1'], { timeoutMs: 120_000 });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^outcomes: none$/m);
  t.regex(r.stdout, /^note: no meter of this fleet is in prepayment, so there was nothing to switch/m);
  t.notRegex(r.stderr, /shards on/, 'one shard fits any machine');
});

test('smets-hil fleet makes no more shards than there are meters, and says so', async (t) => {
  const r = await runCli(['fleet', '--meters', '3', '--workers', '8'], { timeoutMs: 120_000 });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /^note: --workers 8 for 3 meter\(s\): 3 shard\(s\), as a shard needs at least one meter$/m);
  t.regex(r.stdout, /^3 shard\(s\), /m);
});

test('fleet notes: shards are capped at one per meter, and more shards than cores cost set-up time', (t) => {
  t.deepEqual(workerNotes(2, 100, 2, false), []);
  t.deepEqual(workerNotes(8, 3, 2, true), ['--workers 8 for 3 meter(s): 3 shard(s), as a shard needs at least one meter', '3 shards on 2 core(s): each sets up a DCC of its own, so shards beyond one per core lengthen the set-up and contend for the cores']);
  t.deepEqual(workerNotes(99, 10_000, 2, true), ['99 shards on 2 core(s): each sets up a DCC of its own, so shards beyond one per core lengthen the set-up and contend for the cores']);
  t.deepEqual(workerNotes(4, 2, 4, true), ['--workers 4 for 2 meter(s): 2 shard(s), as a shard needs at least one meter']);
});

test('smets-hil fleet stopped with Ctrl-C in the middle of the event exits 130, its shards stopped and temporary stores removed', async (t) => {
  const tmp = scratchDir(t, 'fleet-interrupt');
  const child = spawn(process.execPath, [join(repoRoot, 'bin/smets-hil.mjs'), 'fleet', '--meters', '100000', '--workers', '1'], { cwd: repoRoot, env: { ...process.env, TMPDIR: tmp } });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('the Authority instructs')) resolve();
    });
    void exited.then(() => reject(new Error(`the fleet ended before its event: ${stderr}`)));
  });
  t.true(readdirSync(tmp).some((f) => f.startsWith('smets-hil-fleet-')), 'the run keeps its stores in a temporary directory');
  // Twice, as a terminal's Ctrl-C reaches it under npm or tsx (they pass it on to the process that had it too).
  child.kill('SIGINT');
  child.kill('SIGINT');
  t.is(await exited, 130, stderr);
  t.regex(stderr, /interrupted: the shards were stopped and their temporary stores removed\n$/);
  t.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('smets-hil-fleet-')), []);
});

test('an adversarial request refused by some other control than the one it tests turns the run red (eligibility off: "other SRV" gets E4, not E2)', async (t) => {
  const report = await runFleet({ ...options({ meters: 1000, workers: 1, adversarialShare: 0.3 }), defects: ['skip-eligibility'] });
  t.false(report.passed);
  t.true(report.tally.failed > 0);
  t.true(report.tally.problems.some((p) => /^other-srv on .*: other-srv was refused with E4 at (transform|send), not E2/.test(p)), report.tally.problems.join('\n'));
});

test('kinds of adversarial request take turns across the fleet, not per shard: small shards do not all send only the first kinds', (t) => {
  const kindsOf = (o: Partial<FleetOptions>) => {
    const plan = new FleetPlan(options({ meters: 2000, adversarialShare: 0.05, ...o }));
    const kinds = new Set<string>();
    for (let k = 0; k < plan.options.workers; k++) for (const kind of shardJobs(plan, plan.shard(k)).kind) if (kind !== 0) kinds.add(JOB_KINDS[kind]!);
    return [...kinds].sort();
  };
  t.deepEqual(kindsOf({ workers: 2 }), ['altered', 'other-srv', 'other-supplier', 'prepayment']);
  // Eight shards of about two adversarial requests each: shard by shard, each sent prepayment and other-srv only.
  t.deepEqual(kindsOf({ workers: 8 }), ['altered', 'other-srv', 'other-supplier', 'prepayment']);
});

test('the same seed sends the same adversarial requests to the same meters whatever the number of workers', (t) => {
  const requests = (workers: number) => {
    const plan = new FleetPlan(options({ meters: 3000, workers }));
    const sent: string[] = [];
    let switches = 0;
    for (let k = 0; k < workers; k++) {
      const jobs = shardJobs(plan, plan.shard(k));
      switches += jobs.switches;
      for (let j = 0; j < jobs.meter.length; j++) if (jobs.kind[j] !== 0) sent.push(`${jobs.ordinal[j]} ${JOB_KINDS[jobs.kind[j]!]} ${plan.meter(jobs.meter[j]!).eui}`);
    }
    return { switches, adversarial: sent.sort() };
  };
  const one = requests(1);
  t.true(one.adversarial.length > 100);
  for (const workers of [2, 3, 7, 16]) t.deepEqual(requests(workers), one, `${workers} workers`);
});

const ANSWERS_FLEET = options({ meters: 400, workers: 1, adversarialShare: 0 });

/**
 * Runs a shard whose meters' SMETS2+ answers pass through `alter` (null: as they are) and checks that every one
 * altered failed its switch, with `problem` as the reason, while the SMETS1 switches executed.
 */
async function switchesWithAlteredAnswers(t: ExecutionContext, alter: (device: Eui, frame: Uint8Array) => Uint8Array | null, problem: RegExp): Promise<void> {
  const shard = await FleetShard.create({ fleet: ANSWERS_FLEET, shard: 0, stateDir: scratchDir(t, 'fleet-answers') });
  t.teardown(() => shard.close());
  const port = shard.devices.port;
  const send = port.sendCommand;
  port.sendCommand = async (device, command, timeoutMs) => {
    const r = await send(device, command, timeoutMs);
    const frame = r.kind === 'response' ? alter(device.eui, r.frame) : null;
    return frame ? { ...r, frame } : r;
  };
  shard.instruct(10n ** 15n);
  const tally = await shard.runBatch(0, shard.jobs.meter.length);
  const smets2 = [...shard.jobs.meter].filter((i) => shard.plan.meter(i).type !== 'SMETS1').length;
  t.true(smets2 > 0);
  t.is(tally.failed, smets2);
  t.is(tally.executed, tally.switches - smets2);
  t.regex(tally.problems[0] ?? '', problem);
}

test("a meter's response whose signature does not verify is not counted as a switch", async (t) => {
  await switchesWithAlteredAnswers(
    t,
    (_device, answer) => {
      const frame = Uint8Array.from(answer);
      frame[frame.length - 1]! ^= 1; // the last octet of the meter's signature
      return frame;
    },
    /the signature on the meter's answer does not verify/,
  );
});

test("a meter's answer signed with its own key but for another use case is not counted as a switch", async (t) => {
  const prepayment: Record<string, string> = { ECS02: 'ECS03', GCS02: 'GCS03' };
  await switchesWithAlteredAnswers(
    t,
    (device, answer) => {
      const d = decodeGeneralSigning(answer);
      const other = d.ok && useCaseByName(prepayment[useCaseByCode(d.value.messageCode)?.name ?? ''] ?? '');
      if (!d.ok || !other) return null;
      // The meter's own signature, over an answer that says it did the switch to prepayment.
      return encodeGeneralSigning(signApdu({ ...d.value, messageCode: other.code }, deriveDeviceKeys(ANSWERS_FLEET.seed, device).ds.privateKey));
    },
    /the meter's answer has message code .*, not the command's/,
  );
});

/** `fleet --meters 100000 --workers 1` with `worker` (module code) preloaded into every thread; its exit and stderr. */
async function fleetWithWorkerPreload(t: ExecutionContext, worker: string): Promise<{ code: number | null; stderr: string }> {
  const tmp = scratchDir(t, 'fleet-preload');
  const preload = join(tmp, 'preload.mjs');
  writeFileSync(preload, `import { isMainThread } from 'node:worker_threads';\nif (!isMainThread) ${worker}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', preload, join(repoRoot, 'bin/smets-hil.mjs'), 'fleet', '--meters', '100000', '--workers', '1'], { cwd: repoRoot, env: { ...process.env, TMPDIR: tmp } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

test('a shard that ends early, even with exit code 0, fails the run instead of leaving it waiting', async (t) => {
  const r = await fleetWithWorkerPreload(t, 'setTimeout(() => process.exit(0), 1500).unref();');
  t.is(r.code, 3, r.stderr.slice(-2000));
  t.regex(r.stderr, /shard 0 ended with code 0 before the run was over/);
});

test("a shard's uncaught exception fails the run naming the shard", async (t) => {
  const r = await fleetWithWorkerPreload(t, "setTimeout(() => { throw new Error('boom from a worker'); }, 1500).unref();");
  t.is(r.code, 3, r.stderr.slice(-2000));
  t.regex(r.stderr, /^Error: shard 0: boom from a worker$/m);
});
