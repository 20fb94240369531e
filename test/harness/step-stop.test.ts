/**
 * A step that overruns its time limit, or whose run is interrupted, is stopped where it is: it sends nothing more
 * once it is reported, and the world it ran in is closed whole, so the run's process can end.
 *
 * Serial: the tests count the requests the User agents post and the thread's open sockets.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { UserAgent } from '../../harness/agents/user-agent.ts';
import { runScenarios } from '../../harness/engine/runner.ts';
import { WorldInstance } from '../../harness/engine/world.ts';
import { EmulatedPool } from '../../harness/pools/emulated.ts';
import { loadScenarioFile } from '../../harness/scenarios/loader.ts';
import { repoRoot } from '../helpers/fixtures.ts';

const WORLD = join(repoRoot, 'scenarios/worlds/standard.yaml');
const load = (scenario: string) => loadScenarioFile(join(repoRoot, 'scenarios/runner-test.yaml'), `world: ${WORLD}\nscenarios:\n${scenario}`);

let posts = 0;
const post = UserAgent.prototype.post;
UserAgent.prototype.post = function (this: UserAgent, ...args: Parameters<UserAgent['post']>) {
  posts++;
  return post.apply(this, args);
};

/** TCP servers and sockets open in this thread. */
const open = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap').length;
/** Timers that keep this thread alive. */
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** Waits (up to 5 s: a closed handle goes a tick or so after its close resolves) for `count()` to come down to `to`. */
async function comesDownTo(count: () => number, to: number): Promise<number> {
  for (let i = 0; i < 50 && count() > to; i++) await new Promise((r) => setTimeout(r, 100));
  return count();
}

const FLOOD = (stepTimeout: string) => `  - id: flood
    title: t
    timeouts: { step: ${stepTimeout} }
    steps:
      - request: { as: healthy, to: other-smets1, mode: credit, repeat: 2000, expect: { code: I99 } }
`;

test.serial('a step that overruns its time limit sends nothing once it is reported, and its world leaves nothing open', async (t) => {
  const before = open();
  let postsAtStepEnd = -1;
  const run = await runScenarios(load(FLOOD('300ms')), {
    pool: async () => new EmulatedPool(),
    listener: { onStepEnd: () => (postsAtStepEnd = posts) },
  });
  const attempt = run.tests[0]!.attempts[0]!;
  t.is(attempt.verdict, 'error');
  t.regex(attempt.message!, /did not finish within 300 ms/);
  t.true(postsAtStepEnd > 0 && postsAtStepEnd < 2000, `the flood was under way when it was stopped (${postsAtStepEnd} requests)`);
  t.is(posts, postsAtStepEnd, 'no request was sent after the step was reported');
  t.is(await comesDownTo(open, before), before, 'no server or connection left open');
});

test.serial('a step that overruns its time limit while it waits stops waiting: nothing of it keeps the process alive', async (t) => {
  const before = { open: open(), timers: timers() };
  const run = await runScenarios(
    load(`  - id: long-wait
    title: t
    timeouts: { step: 300ms }
    steps:
      - expect-alert: { at: healthy, code: 8F66, absent: true, within: 60s }
`),
    { pool: async () => new EmulatedPool() },
  );
  t.regex(run.tests[0]!.attempts[0]!.message!, /did not finish within 300 ms/);
  t.is(await comesDownTo(open, before.open), before.open, 'no server or connection left open');
  t.is(await comesDownTo(timers, before.timers), before.timers, 'no timer left running');
});

test.serial('an interrupted run stops the step under way: it sends nothing more, and its world leaves nothing open', async (t) => {
  const before = open();
  const interrupt = new AbortController();
  let postsAtStepEnd = -1;
  const started = posts;
  const run = await runScenarios(load(FLOOD('60s')), {
    pool: async () => new EmulatedPool(),
    signal: interrupt.signal,
    listener: {
      onStepEnd: () => (postsAtStepEnd = posts),
      onTestStart: () => {
        // Interrupts once the flood is under way.
        const poll = setInterval(() => {
          if (posts - started >= 20) {
            clearInterval(poll);
            interrupt.abort();
          }
        }, 10);
      },
    },
  });
  const attempt = run.tests[0]!.attempts[0]!;
  t.is(attempt.verdict, 'error');
  t.regex(attempt.message!, /the run was interrupted/);
  t.is(run.interrupted, 'the run was interrupted');
  t.is(posts, postsAtStepEnd, 'no request was sent after the step was reported');
  t.is(await comesDownTo(open, before), before, 'no server or connection left open');
});

test.serial("an interrupted run marks the attempt it stopped, and only that one: an earlier test's own error stays its own", async (t) => {
  const before = open();
  const interrupt = new AbortController();
  const wait = (id: string, step: string) =>
    `  - id: ${id}\n    title: t\n    timeouts: { step: ${step} }\n    steps:\n      - expect-alert: { at: healthy, code: 8F66, absent: true, within: 60s }\n`;
  const run = await runScenarios(load(wait('own-error', '300ms') + wait('stopped', '60s')), {
    pool: async () => new EmulatedPool(),
    signal: interrupt.signal,
    listener: { onTestStart: (x) => void (x.id === 'stopped' && setTimeout(() => interrupt.abort(), 500)) },
  });
  const [own, stopped] = run.tests.map((x) => x.attempts.at(-1)!);
  t.is(own!.verdict, 'error');
  t.regex(own!.message!, /did not finish within 300 ms/);
  t.is(own!.interrupted, undefined, 'its error came before the interruption');
  t.is(stopped!.verdict, 'error');
  t.is(stopped!.interrupted, true, 'stopped while setting up its world or in its step, it is marked either way');
  // Stopped while setting up, its world closes once made.
  t.is(await comesDownTo(open, before), before, 'no server or connection left open');
});

/** A world of the standard parties and meters. */
async function standardWorld(): Promise<WorldInstance> {
  const [scenario] = load(`  - id: w
    title: t
    steps:
      - advance: 1h
`);
  return WorldInstance.create(scenario!.world, { pool: new EmulatedPool() });
}
/** Whether `p` ends within `ms` (a bound far above what it takes: it holds on a loaded machine). */
const endsWithin = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), ms).unref())]);

test.serial('closing a world cuts a connection to its DCC that a client opened and never used', async (t) => {
  const before = open();
  const world = await standardWorld();
  // What a stopped request can leave behind: a connection opened for it, on which nothing was ever sent.
  const { port } = new URL(world.url);
  const idle = connect(Number(port), '127.0.0.1');
  await new Promise((r) => idle.once('connect', r));
  const cut = new Promise((r) => idle.once('close', r));
  t.true(await endsWithin(world.close(), 5_000), 'the world closed without waiting for the client');
  t.true(await endsWithin(cut, 5_000), 'the connection was cut');
  await world.pool.close();
  t.is(await comesDownTo(open, before), before, 'no server or connection left open');
});

test.serial("a world whose DCC does not close in time still closes its parties' endpoints", async (t) => {
  const world = await standardWorld();
  const close = world.dcc.close.bind(world.dcc);
  let release!: () => void;
  world.dcc.close = () => new Promise<void>((r) => (release = r));
  const servers = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
  const before = servers();
  t.true(await endsWithin(world.close(200), 5_000), 'the close gave up on the DCC');
  t.is(await comesDownTo(servers, before - world.parties.size), before - world.parties.size, "every party's endpoint closed");
  release();
  await close();
  await world.pool.close();
});

test.serial('a run interrupted between two scenarios says so at run level, though every test it reached passed', async (t) => {
  const interrupt = new AbortController();
  const quick = (id: string) => `  - id: ${id}\n    title: t\n    steps:\n      - advance: 1m\n`;
  const run = await runScenarios(load(quick('first') + quick('second')), {
    pool: async () => new EmulatedPool(),
    signal: interrupt.signal,
    listener: { onTestEnd: () => interrupt.abort() },
  });
  t.deepEqual(run.tests.map((x) => x.verdict), ['pass', 'skip']);
  t.is(run.interrupted, 'the run was interrupted');
  const whole = await runScenarios(load(quick('alone')), { pool: async () => new EmulatedPool() });
  t.is(whole.interrupted, undefined);
});
