import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { loadScenarioFile, loadScenarios, matchesTags, ScenarioLoadError } from '../../harness/scenarios/loader.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { scratchDir } from '../helpers/scratch.ts';
import { aliasEui } from '../../harness/scenarios/world-euis.ts';

const WORLD = join(repoRoot, 'scenarios/worlds/standard.yaml');
const file = join(repoRoot, 'scenarios/mp134b/inline-test.yaml');

function problems(text: string): string[] {
  try {
    loadScenarioFile(file, text);
  } catch (e) {
    if (e instanceof ScenarioLoadError) return e.problems.map((p) => p.message.replace(`${file}:`, 'L'));
    throw e;
  }
  return [];
}

const head = `world: ${WORLD}\nscenarios:\n  - id: s1\n    title: t\n    steps:\n`;

test('a valid file loads, and an outline expands into one test per row with its values substituted', (t) => {
  const loaded = loadScenarioFile(file, `${head}      - request: { as: srp, to: "\${device}", expect: { code: E3 } }\n    outline:\n      device: [esme, gsme]\n`);
  t.deepEqual(
    loaded.map((s) => s.id),
    ['s1[device=esme]', 's1[device=gsme]'],
  );
  const step = loaded[1]!.steps[0]!;
  t.true('request' in step && step.request.to === 'gsme');
});

test('errors name the file, the line and what is wrong', (t) => {
  t.deepEqual(problems(`${head}      - advance: 3 hours\n`), ['L6: scenarios.0.steps.0.advance: a duration such as 500ms, 30s, 15m, 2h or 7d']);
  // Refinements ran on it too, and threw a TypeError (a stack, not this message).
  t.deepEqual(problems(`${head}      - advance: 1h\n    timeouts: { step: 3 hours }\n`), ['L7: scenarios.0.timeouts.step: a duration such as 500ms, 30s, 15m, 2h or 7d']);
  t.deepEqual(problems(`${head}      - teleport: { to: esme }\n`), [
    'L6: scenarios.0.steps.0: unknown step "teleport" (known: solr, officer, adt, solr-contingency, request, advance, revoke, certificate, expect-alert, every-other-srv, expect-state, link-fault)',
  ]);
  t.deepEqual(problems(`${head}      - request: { as: srp, to: esmee, expect: { code: E3 } }\n`), ['L6: device esmee is not in the world (esme, esme-twin, gsme, smets1-elec, smets1-gas, other-esme, other-gsme, other-smets1)']);
  t.deepEqual(problems(`${head}      - request: { as: srp, to: esme, mode: credt, expect: { code: E3 } }\n`), [
    'L6: scenarios.0.steps.0.request.mode: credit, prepayment, or { prepayment: { suspendDebtDisabled, suspendDebtEmergency, disablementThreshold } }',
  ]);
  t.deepEqual(problems(`${head}      - request: { as: srp, to: esme, colour: blue, expect: { code: E3 } }\n`), ['L6: scenarios.0.steps.0.request: Unrecognized key: "colour"']);
  // It passed having checked nothing.
  t.deepEqual(problems(`${head}      - expect-state: { device: esme }\n`), ["L6: scenarios.0.steps.0.expect-state: names nothing to check: give paymentMode, pending, supply, meterBalance or securityEvent"]);
  t.regex(problems(`world: ${WORLD}\nscenarios:\n  - id: s1\n    title: t\n    steps:\n      - advance: 1h\n  - id: s1\n    title: u\n    steps:\n      - advance: 1h\n`)[0]!, /^L7: scenario id s1 appears twice/);
  // Compiled only after an attempt's error, a bad pattern crashed the run hours in, its reports lost.
  t.deepEqual(problems(`${head}      - advance: 1h\n    retry: { when: "(", attempts: 2 }\n`), ['L7: scenarios.0.retry.when: not a regular expression (Invalid regular expression: /(/: Unterminated group)']);
  t.regex(problems('scenarios: [\n')[0]!, /^L\d+: not valid YAML/);
  t.regex(problems(`world: ./nowhere.yaml\nscenarios:\n  - id: s1\n    title: t\n    steps:\n      - advance: 1h\n`)[0]!, /^L1: world \.\/nowhere\.yaml: cannot read: ENOENT/);
});

test('YAML aliases reuse a step freely, but one that expands exponentially is an invalid file, not a crash', (t) => {
  t.deepEqual(problems(`${head}      - &tick { advance: 1m }\n${'      - *tick\n'.repeat(500)}`), [], 'a step reused 500 times');
  // Each level names the one before ten times: 10^6 steps from a few lines.
  const levels = ['a0: &a0 { advance: 1m }'];
  for (let i = 1; i <= 6; i++) levels.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
  const bomb = problems(`x:\n${levels.map((l) => `  ${l}\n`).join('')}${head}      - advance: 1m\n`);
  t.is(bomb.length, 1);
  t.regex(bomb[0]!, /^L its aliases expand to too much \(more than 10000 times what they name\)/);
});

test('a YAML error inside a world file is reported at its own line, not at the line naming the world', (t) => {
  const dir = scratchDir(t, 'broken-world');
  writeFileSync(join(dir, 'world.yaml'), 'parties:\n  a: { roles: [IS] }\ndevices:\n  m: { type: ESME, supplier: a\n');
  const at = problems(`world: ${join(dir, 'world.yaml')}\nscenarios:\n  - id: s1\n    title: t\n    steps:\n      - advance: 1h\n`);
  t.is(at.length, 1);
  t.regex(at[0]!, new RegExp(`^${join(dir, 'world.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: not valid YAML`));
});

test('a revoke step names one of a party and a device, with a certificate of its kind', (t) => {
  t.deepEqual(problems(`${head}      - revoke: { device: other-esme, certificate: device-ka }\n`), []);
  t.deepEqual(problems(`${head}      - revoke: { party: healthy, device: other-esme }\n`), ['L6: scenarios.0.steps.0.revoke: names one of party and device']);
  t.deepEqual(problems(`${head}      - revoke: { certificate: all }\n`), ['L6: scenarios.0.steps.0.revoke: names one of party and device']);
  t.deepEqual(problems(`${head}      - revoke: { device: other-esme, certificate: xml-signing }\n`), ['L6: scenarios.0.steps.0.revoke.certificate: a device holds device-ds and device-ka certificates, not xml-signing']);
  t.deepEqual(problems(`${head}      - revoke: { party: healthy, certificate: device-ds }\n`), ["L6: scenarios.0.steps.0.revoke.certificate: device-ds is a device's certificate: name the device, not a party"]);
  t.deepEqual(problems(`${head}      - revoke: { device: esmee }\n`), ['L6: device esmee is not in the world (esme, esme-twin, gsme, smets1-elec, smets1-gas, other-esme, other-gsme, other-smets1)']);
});

test("a world's devices must fit their kind and their parties' roles, as the DCC will require", (t) => {
  const world = (devices: string) =>
    `world:\n  parties:\n    sup: { roles: [IS] }\n    net: { roles: [ED, GT] }\n  devices:\n${devices}scenarios:\n  - id: s1\n    title: t\n    steps:\n      - advance: 1h\n`;
  t.deepEqual(problems(world('    g: { type: GSME, fuel: electricity, supplier: sup }\n')), ['L6: world.devices.g.fuel: a GSME is gas']);
  t.deepEqual(problems(world('    s: { type: SMETS1, twin: true, supplier: sup }\n')), ['L6: world.devices.s.twin: only an ESME has a second element']);
  t.deepEqual(problems(world('    g: { type: GSME, supplier: sup, network: net }\n')), ['L6: device g: supplier sup acts as IS, not as a gas supplier (GS)']);
  t.deepEqual(problems(world('    e: { type: ESME, supplier: sup, network: sup }\n')), ['L6: device e: network sup acts as IS, not as an electricity distributor (ED)']);
  t.deepEqual(problems(world('    e: { type: ESME, supplier: nobody }\n')), ['L6: device e: supplier nobody is not a party of the world']);
  t.deepEqual(problems(world('    e: { type: ESME, twin: true, supplier: sup, network: net }\n    m: { type: SMETS1, fuel: electricity, supplier: sup }\n')), []);
});

test("a world's start is a date-time with its offset, or now", (t) => {
  const world = (start: string) => `world:\n  start: ${start}\n  parties:\n    sup: { roles: [IS] }\n  devices: {}\nscenarios:\n  - id: s1\n    title: t\n    steps:\n      - advance: 1h\n`;
  t.deepEqual(problems(world('now')), []);
  t.deepEqual(problems(world('2026-03-01T00:00:00+01:00')), []);
  for (const bad of ['tomorrow', '2026-03-01', 'NOW', '2026-02-30T09:00:00Z']) t.deepEqual(problems(world(bad)), ['L2: world.start: an ISO date-time with its offset, or now'], bad);
  t.deepEqual(problems(world('2026-03-01T00:00:00-14:00')), []);
  // No time zone is more than 14:00 from UTC: the DCC refuses such date-times in DUIS.
  for (const bad of ['2026-01-05T09:00:00+23:59', '2026-01-05T09:00:00+15:00', '2026-01-05T09:00:00-14:30']) {
    t.deepEqual(problems(world(bad)), [`L2: world.start: ${bad}: no such date-time (time zones are within 14:00 of UTC)`], bad);
  }
});

test("the clocks stay where the meters' date-times reach: a start or advances outside 2000-2099, or a move back, is refused on load", (t) => {
  const file = (start: string, ...advances: string[]) =>
    `world:\n  start: ${start}\n  parties:\n    sup: { roles: [IS] }\n  devices: {}\nscenarios:\n  - id: s1\n    title: t\n    steps:\n${advances.map((a) => `      - advance: ${a}\n`).join('')}`;
  const range = "the DCC's clock stays from 2000-01-01 to before 2100-01-01 (the meters' date-times hold no more)";
  // Before 2000 SMKI issues nothing: the world's set-up failed at run time (and the run then hung: see world.test.ts).
  t.deepEqual(problems(file('1999-06-01T00:00:00Z', '1h')), [`L2: world.start: ${range}; this would take it to 1999-06-01T00:00:00.000Z`]);
  t.deepEqual(problems(file('2140-01-01T00:00:00Z', '1h')), [`L2: world.start: ${range}; this would take it to 2140-01-01T00:00:00.000Z`]);
  t.deepEqual(problems(file('2099-12-01T00:00:00Z', '20d', '20d')), [`L11: advance: ${range}; this would take it to 2100-01-10T00:00:00.000Z`]);
  t.deepEqual(problems(file('2099-12-01T00:00:00Z', '30d')), []);
  t.deepEqual(problems(file('now', '-5m')), ['L10: scenarios.0.steps.0.advance: a move forward: above 0 (the clocks never go back)']);
  t.deepEqual(problems(file('now', '0s')), ['L10: scenarios.0.steps.0.advance: a move forward: above 0 (the clocks never go back)']);
  // An ADT period of 0 or less used to become one second, silently.
  t.deepEqual(problems(`${head}      - adt: { party: srp, by: sro-1, supplier: failing, thresholds: [{ srv: "1.6", warning: 1, quarantine: 2, period: -1d }] }\n`), [
    'L6: scenarios.0.steps.0.adt.thresholds.0.period: an ADT period of at least 1s',
  ]);
});

test('a party in the SC role and a GBCS role is refused on load: SMKI would refuse its Digital Signing certificate when the world is set up', (t) => {
  const world = (roles: string) => `world:\n  parties:\n    both: { roles: ${roles} }\n  devices: {}\nscenarios:\n  - id: s1\n    title: t\n    steps:\n      - advance: 1h\n`;
  t.deepEqual(problems(world('[IS, SC]')), ['L3: party both: an SC party holds no GBCS Digital Signing certificate (MP134B BR2), which IS need: give it SC alone']);
  t.deepEqual(problems(world('[SC]')), []);
});

test("a file's tags are held to the same form as a scenario's: one a filter could not name is refused on load", (t) => {
  const body = `scenarios:\n  - id: s1\n    title: t\n    steps:\n      - advance: 1h\n`;
  t.deepEqual(problems(`world: ${WORLD}\ntags: ["ctl\\u0001x", ok]\n${body}`), ['L2: tags.0: letters, digits, dot, dash and underscore']);
  t.deepEqual(problems(`world: ${WORLD}\ntags: [ok, also.ok]\n${body}`), []);
});

test('tag filters: a comma means any, a plus means all', (t) => {
  t.true(matchesTags(['BR5', 'smets1'], 'BR5,smets2'));
  t.false(matchesTags(['BR5', 'smets1'], 'BR4,smets2'));
  t.true(matchesTags(['BR5', 'smets1'], 'BR5+smets1'));
  t.false(matchesTags(['BR5', 'smets2'], 'BR5+smets1'));
  t.true(matchesTags(['x'], undefined));
});

test('outline variables and alert codes are checked on load, not when the scenario runs', (t) => {
  t.deepEqual(problems(`${head}      - request: { as: srp, to: "\${device}", expect: { code: E3 } }\n`), ['L6: ${device} is not a variable of this scenario\'s outline (it has none)']);
  t.deepEqual(problems(`${head}      - request: { as: srp, to: "\${meter}", expect: { code: E3 } }\n    outline:\n      device: [esme]\n`), [
    'L6: ${meter} is not a variable of this scenario\'s outline (device)',
    'L8: outline column device is read by no step (no ${device} in the steps): its 1 tests would all run the same steps',
  ]);
  t.deepEqual(problems(`${head}      - request: { as: srp, to: "\${device}", expect: { code: E3 } }\n    outline:\n      device: [esme, healthy]\n`), [
    'L6: s1[device=healthy]: device healthy (from the outline) is not in the world (esme, esme-twin, gsme, smets1-elec, smets1-gas, other-esme, other-gsme, other-smets1)',
  ]);
  t.deepEqual(problems(`${head}      - expect-alert: { at: failing, code: 8f66, absent: true }\n`), ['L6: scenarios.0.steps.0.expect-alert.code: a device alert code: four hex digits in capitals, such as 8F66']);
  t.deepEqual(problems(`${head}      - request: { as: srp, to: esme, expect: { dccAlert: AD2 } }\n`), ['L6: scenarios.0.steps.0.request.expect.dccAlert: a DCC alert code DUIS defines (AD1, N1...)']);
});

test('a file named twice (itself and through its folder) loads once', (t) => {
  const folder = join(repoRoot, 'scenarios/mp134b');
  const once = loadScenarios([folder]);
  t.deepEqual(loadScenarios([folder, join(folder, 'br7-alerts.yaml'), `${folder}/`]).map((s) => s.id), once.map((s) => s.id));
});

test('a defeated-by name that is no seeded defect is refused: its negative control would never run', (t) => {
  t.deepEqual(problems(`${head}      - advance: 1h\n    defeated-by: [skip-eligibilty]\n`), ['L7: defeated-by: skip-eligibilty is not a seeded defect (README: Negative controls)']);
  t.deepEqual(problems(`${head}      - advance: 1h\n    defeated-by: [skip-correlation]\n`), []);
});

test('two parties or two devices with one EUI, however written, are refused: the DCC would merge them', (t) => {
  const world = `world:\n  parties:\n    a: { roles: [IS], eui: 90B3D51F30010001 }\n    b: { roles: [IS], eui: 90-b3-d5-1f-30-01-00-01 }\n  devices:\n    m1: { type: ESME, supplier: a, eui: 00DB000000000101 }\n    m2: { type: ESME, supplier: a, eui: 00db000000000101 }\nscenarios:\n  - id: s1\n    title: t\n    steps:\n      - advance: 1h\n`;
  t.deepEqual(problems(world), ["L4: party b: EUI 90B3D51F30010001 is also party a's", "L7: device m2: EUI 00DB000000000101 is also device m1's"]);
});

test('a written EUI equal to the one another alias is given (it has none written) is refused too', (t) => {
  const world = `world:\n  parties:\n    sup: { roles: [IS, GS] }\n    sup2: { eui: ${aliasEui('sup', 'party')}, roles: [IS, GS] }\n  devices:\n    esme: { type: ESME, supplier: sup }\n    esme2: { eui: ${aliasEui('esme', 'device')}, type: ESME, supplier: sup2 }\nscenarios:\n  - id: s1\n    title: t\n    steps:\n      - advance: 1h\n`;
  t.deepEqual(problems(world), [`L4: party sup2: EUI ${aliasEui('sup', 'party')} is also party sup's`, `L7: device esme2: EUI ${aliasEui('esme', 'device')} is also device esme's`]);
});

test("an outline row is read again once substituted, keys included: a value that does not fit where it lands is a load error", (t) => {
  t.deepEqual(problems(`${head}      - request: { as: srp, to: esme, srv: "\${s}", expect: { code: E3 } }\n    outline:\n      s: ["1.6", 16]\n`), [
    'L6: s1[s=16]: scenarios.0.steps.0.request.srv: Invalid input: expected string, received number',
  ]);
  // A key was left as written: "${device}" reached the run, which had no such device.
  const loaded = loadScenarioFile(file, `${head}      - request: { as: srp, to: "\${device}", changes: { "\${device}": [securityLog] }, expect: { code: E3 } }\n    outline:\n      device: [esme, gsme]\n`);
  t.deepEqual(
    loaded.map((s) => { const step = s.steps[0]!; return 'request' in step ? Object.keys(step.request.changes ?? {}) : []; }),
    [['esme'], ['gsme']],
  );
  t.deepEqual(problems(`${head}      - request: { as: srp, to: esme, changes: { "\${device}": [securityLog] }, expect: { code: E3 } }\n    outline:\n      device: [esme, nowhere]\n`), [
    'L6: s1[device=nowhere]: device nowhere (from the outline) is not in the world (esme, esme-twin, gsme, smets1-elec, smets1-gas, other-esme, other-gsme, other-smets1)',
  ]);
});

test('in a scenario folder, a dangling link to a scenario file is reported by name, and one to anything else is passed over', (t) => {
  const dir = scratchDir(t, 'smets-hil-loader-links');
  copyFileSync(join(repoRoot, 'scenarios/mp134b/controls.yaml'), join(dir, 'controls.yaml'));
  symlinkSync(join(dir, 'gone'), join(dir, 'gone-dir'));
  // The world is named relative to the file: this copy's cannot be found, which is beside the point here.
  t.throws(() => loadScenarios([dir]), { instanceOf: ScenarioLoadError, message: /controls\.yaml:\d+: world/ });
  symlinkSync(join(dir, 'gone.yaml'), join(dir, 'broken.yaml'));
  const e = t.throws(() => loadScenarios([dir]), { instanceOf: ScenarioLoadError });
  t.true(e!.problems.some((p) => p.message === `${join(dir, 'broken.yaml')}: no such file or directory`), e!.message);
});

test('links that loop, or lead back to a folder already walked, neither crash the load nor load a file twice', (t) => {
  const dir = scratchDir(t, 'smets-hil-loader-loops');
  const folder = join(dir, 'pack');
  mkdirSync(folder);
  copyFileSync(join(repoRoot, 'scenarios/mp134b/br7-alerts.yaml'), join(folder, 'br7-alerts.yaml'));
  symlinkSync(join(repoRoot, 'scenarios/worlds'), join(dir, 'worlds'));
  symlinkSync(join(folder, 'loop'), join(folder, 'loop')); // a link to itself
  symlinkSync(folder, join(folder, 'up')); // back to its own folder
  symlinkSync(folder, join(dir, 'alias')); // the same folder under another name
  const once = loadScenarios([join(repoRoot, 'scenarios/mp134b/br7-alerts.yaml')]).map((s) => s.id);
  t.deepEqual(loadScenarios([folder, join(dir, 'alias')]).map((s) => s.id), once);

  symlinkSync(join(folder, 'self.yaml'), join(folder, 'self.yaml'));
  const e = t.throws(() => loadScenarios([folder]), { instanceOf: ScenarioLoadError });
  t.deepEqual(e!.problems.map((p) => p.message), [`${join(folder, 'self.yaml')}: a loop of symbolic links`]);
});

test('a pack reached through a link to its folder finds its world where the pack really is', (t) => {
  const dir = scratchDir(t, 'smets-hil-loader-linked-pack');
  const real = join(repoRoot, 'scenarios/mp134b');
  symlinkSync(real, join(dir, 'pack'));
  t.deepEqual(loadScenarios([join(dir, 'pack')]).map((s) => s.id), loadScenarios([real]).map((s) => s.id));
});

test('an outline value is refused where it would make a test id reports and --grep cannot tell apart or print', (t) => {
  t.deepEqual(problems(`${head}      - request: { as: srp, to: "\${device}", expect: { code: E3 } }\n    outline:\n      device: [esme, "esme]x", "a b"]\n`), [
    'L8: scenarios.0.outline.device.1: an outline value: letters, digits and . _ : + / - (it becomes part of the test id)',
    'L8: scenarios.0.outline.device.2: an outline value: letters, digits and . _ : + / - (it becomes part of the test id)',
  ]);
  t.deepEqual(problems(`${head}      - request: { as: srp, to: esme, srv: "\${s}", expect: { code: E3 } }\n    outline:\n      s: ["1.6", 1.6]\n`).slice(0, 1), ['L8: scenarios.0.outline.s: each value once: two alike would make two tests of one id']);
  t.deepEqual(problems(`${head}      - request: { as: srp, to: "\${device}", expect: { code: E3 } }\n    outline:\n      device: [esme, gsme]\n`), []);
});

test('an outline column no step reads is refused (its tests would all run the same steps), and so is an outline of more than 1000 tests', (t) => {
  t.deepEqual(problems(`${head}      - request: { as: srp, to: esme, mode: credit, expect: { code: I99 } }\n    outline:\n      device: [esme, gsme, smets1-elec]\n`), [
    'L8: outline column device is read by no step (no ${device} in the steps): its 3 tests would all run the same steps',
  ]);
  const column = (name: string) => `      ${name}: [${Array.from({ length: 11 }, (_, i) => i).join(', ')}]\n`;
  const big = `${head}      - officer: { party: srp, id: "\${a}-\${b}-\${c}", kind: SRO }\n    outline:\n${column('a')}${column('b')}${column('c')}`;
  t.deepEqual(problems(big), ['L8: the outline expands to 1,331 tests, more than 1000: split the scenario']);
});

test('a tamper, signWith or expect.transform the request path would drop is refused at load, naming why', (t) => {
  const request = (fields: string) => problems(`${head}      - request: { as: srp, to: ${fields} }\n`);
  t.deepEqual(request('esme, mode: credit, tamper: replay, expect: { code: I99 }'), [
    'L6: replay sends a request once more as it was; this one goes as CV 4 then CV 5: replay-signed-precommand sends the CV 5 again',
  ]);
  t.deepEqual(request('smets1-elec, mode: prepayment, tamper: unsigned-precommand, expect: { code: E2 }'), [
    'L6: unsigned-precommand changes the Signed Pre-Command, and this request has none (smets1-elec is a SMETS1 meter: the DCC hands the request to the S1SP, no Pre-Command is signed)',
  ]);
  t.deepEqual(request('esme, mode: credit, cv: 1, tamper: { sign-precommand-with: healthy }, signWith: healthy, expect: { code: E12 }'), [
    'L6: sign-precommand-with signs the Pre-Command, and this request has none (cv 1 sends the request as given, no Pre-Command is signed)',
    'L6: signWith names the key that signs the Pre-Command, and this request has none (cv 1 sends the request as given, no Pre-Command is signed)',
  ]);
  t.deepEqual(request('smets1-elec, mode: credit, expect: { transform: I0 }'), [
    'L6: expect.transform is the answer to the CV 4 transform request, and this request has none (smets1-elec is a SMETS1 meter: the DCC hands the request to the S1SP, no Pre-Command is signed)',
  ]);
  // What each path does take.
  t.deepEqual(request('esme, mode: credit, tamper: replay-signed-precommand, expect: { code: E12 }'), []);
  t.deepEqual(request('smets1-elec, mode: credit, tamper: replay, expect: { code: E12 }'), []);
});

test('SRVs the DCC does not know, and request fields another SRV would ignore, are refused at load', (t) => {
  t.deepEqual(problems(`${head}      - request: { as: srp, to: esme, srv: "1.66", body: { A: 1 }, expect: { code: E3 } }\n`), ['L6: SRV 1.66 is not in the eligibility table']);
  t.deepEqual(problems(`${head}      - request: { as: healthy, to: other-esme, srv: "2.2", mode: prepayment, at: cancel, body: { UTRN: "1" }, expect: { code: I99 } }\n`), [
    "L6: mode is SRV 1.6's (the payment mode to switch to), not SRV 2.2's: give its body",
    'L6: at dates an SRV 1.6 switch, not SRV 2.2',
  ]);
  t.deepEqual(problems(`${head}      - request: { as: srp, to: esme, mode: credit, body: { Foo: 1 }, expect: { code: I99 } }\n`), ['L6: SRV 1.6 builds its body from mode and at: body is for other SRVs']);
  t.deepEqual(problems(`${head}      - solr-contingency: { failed: failing, contingency: srp, adt-srvs: ["1.66"] }\n`), ['L6: SRV 1.66 is not in the eligibility table']);
  t.deepEqual(problems(`${head}      - request: { as: srp, to: esme, srv: "\${x}", expect: { code: E3 } }\n`), ["L6: SRV ${x} is not a variable of this scenario's outline"]);
});

test('a request must name what its answer is to be; a body number YAML cannot hold exactly must be quoted', (t) => {
  t.deepEqual(problems(`${head}      - request: { as: srp, to: esme, mode: prepayment, expect: {} }\n`), [
    'L6: scenarios.0.steps.0.request.expect: names nothing to check: give code, transform, response, device or dccAlert',
  ]);
  t.deepEqual(problems(`${head}      - request: { as: srp, to: esme, mode: prepayment }\n`), ['L6: scenarios.0.steps.0.request.expect: what the answer must be: { code, transform, response, device or dccAlert }']);
  t.deepEqual(problems(`${head}      - request: { as: healthy, to: other-esme, srv: "2.2", body: { UTRN: 73480000000000000001 }, expect: { code: I99 } }\n`), [
    'L6: scenarios.0.steps.0.request.body.UTRN: a whole number of at most 15 digits: quote a longer one (a UTRN, an MPxN) so it is sent as written',
  ]);
  t.deepEqual(problems(`${head}      - request: { as: healthy, to: other-esme, srv: "2.2", body: { UTRN: "73480000000000000001", Empty: ~, N: 5 }, expect: { code: I99 } }\n`), []);
});

test('durations carry their unit; a wait for an absent alert, and a link delay, are more than nothing; an instruction ends after it starts', (t) => {
  t.deepEqual(problems(`${head}      - expect-alert: { at: failing, code: 8F66, absent: true, within: 5 }\n`), [
    'L6: scenarios.0.steps.0.expect-alert.within: a duration such as 500ms, 30s, 15m, 2h or 7d (with its unit)',
  ]);
  t.deepEqual(problems(`${head}      - expect-alert: { at: failing, code: 8F66, absent: true, within: -5s }\n`), ['L6: scenarios.0.steps.0.expect-alert.within: a time limit above 0 and at most 24 days']);
  t.deepEqual(problems(`${head}      - link-fault: { action: delay, delay: 0s }\n`), ['L6: scenarios.0.steps.0.link-fault.delay: a time limit above 0 and at most 24 days']);
  t.deepEqual(problems(`${head}      - link-fault: { action: drop, delay: 5s, part: mac }\n`), [
    'L6: scenarios.0.steps.0.link-fault.part: part is for corrupt, not drop',
    'L6: scenarios.0.steps.0.link-fault.delay: delay is for the delay action, not drop',
  ]);
  t.deepEqual(problems(`${head}      - solr: { failed: failing, contingency: srp, start: 1h, end: -1h }\n`), ['L6: scenarios.0.steps.0.solr.end: an instruction ends after it starts']);
  t.deepEqual(problems(`${head}      - solr: { failed: failing, contingency: srp, devices: [] }\n`), ['L6: scenarios.0.steps.0.solr.devices: names at least one device (leave devices out for all of them)']);
  t.deepEqual(problems(`${head}      - revoke: { party: healthy, delay: -1h }\n`), ['L6: scenarios.0.steps.0.revoke.delay: a delay of 0 or more']);
  t.deepEqual(problems(`${head}      - certificate: { party: healthy, product: xml-signing, expect: issued, requirement: BR2 }\n`), [
    'L6: scenarios.0.steps.0.certificate.requirement: requirement is what a refusal names: it goes with expect: refused',
  ]);
});

test('in a live world too, advances that would take the clocks past what meters can date are refused on load', (t) => {
  const live = `world:\n  start: now\n  parties:\n    failing: { roles: [IS, GS] }\n  devices:\n    esme: { type: ESME, supplier: failing }\nscenarios:\n  - id: s1\n    title: t\n    steps:\n`;
  t.deepEqual(problems(`${live}      - advance: 1d\n`), []);
  t.regex(problems(`${live}      - advance: 40000d\n`)[0] ?? '', /^L11: advance: /);
});

test('a world file beside its scenarios is taken as their world; one no scenario names is reported as a world file', (t) => {
  const dir = scratchDir(t, 'smets-hil-loader-worlds');
  copyFileSync(WORLD, join(dir, 'world.yaml'));
  writeFileSync(join(dir, 'a.yaml'), `world: world.yaml\nscenarios:\n  - id: a\n    title: t\n    steps:\n      - advance: 1h\n`);
  t.deepEqual(loadScenarios([dir]).map((s) => s.id), ['a']);
  copyFileSync(WORLD, join(dir, 'spare.yaml'));
  const e = t.throws(() => loadScenarios([dir]), { instanceOf: ScenarioLoadError });
  t.deepEqual(e?.problems.map((p) => p.problem), ["is a world file (parties, devices), not a scenario file: name it from a scenario file's world:, or keep it in a worlds/ folder, which is not searched"]);
});

test('an id used in two files is reported at its line in each', (t) => {
  const dir = scratchDir(t, 'smets-hil-loader-ids');
  const scenario = (id: string) => `world: ${WORLD}\nscenarios:\n  - id: other\n    title: t\n    steps:\n      - advance: 1h\n  - id: ${id}\n    title: t\n    steps:\n      - advance: 1h\n`;
  writeFileSync(join(dir, 'a.yaml'), scenario('same'));
  writeFileSync(join(dir, 'b.yaml'), scenario('same').replace('id: other', 'id: another'));
  const e = t.throws(() => loadScenarios([dir]), { instanceOf: ScenarioLoadError });
  t.deepEqual(e?.problems.map((p) => [p.line, p.problem.replace(/^.*?(scenario id)/, '$1').replace(/ \S*\/a\.yaml/, ' a.yaml')]), [[7, 'scenario id same is also used in a.yaml:7']]);
});

test('merge keys reuse a step with changes', (t) => {
  const loaded = loadScenarioFile(file, `world: ${WORLD}\nscenarios:\n  - id: s1\n    title: t\n    steps:\n      - request: &credit { as: srp, to: esme, mode: credit, expect: { code: I99 } }\n      - request: { <<: *credit, to: gsme }\n`);
  const [a, b] = loaded[0]!.steps;
  t.like(a, { request: { to: 'esme', mode: 'credit' } });
  t.like(b, { request: { to: 'gsme', mode: 'credit', expect: { code: 'I99' } } });
});

test('a YAML 1.1 file is refused: it would read yes as true and 1:30 as 90', (t) => {
  t.deepEqual(problems(`%YAML 1.1\n---\n${head}      - expect-alert: { at: failing, code: 8F66, absent: yes, within: 1:30 }\n`), ['L1: %YAML 1.1 is not read here: these files are YAML 1.2 (drop the directive)']);
});

test('in a folder, .YAML files count; a folder named with no scenario file, a FIFO, text that is not UTF-8 and an unknown YAML tag are refused', (t) => {
  const dir = scratchDir(t, 'smets-hil-loader-files');
  const scenario = (id: string, extra = '') => `world: ${WORLD}\nscenarios:\n  - id: ${id}\n    title: t${extra}\n    steps:\n      - advance: 1h\n`;
  mkdirSync(join(dir, 'pack', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'pack', 'a.yaml'), scenario('lower'));
  writeFileSync(join(dir, 'pack', 'B.YAML'), scenario('upper'));
  writeFileSync(join(dir, 'pack', 'sub', 'c.Yml'), scenario('mixed'));
  t.deepEqual(loadScenarios([join(dir, 'pack')]).map((s) => s.id).sort(), ['lower', 'mixed', 'upper']);

  mkdirSync(join(dir, 'empty'));
  writeFileSync(join(dir, 'empty', 'README.md'), 'notes');
  const problemsOf = (paths: string[]) => {
    try {
      loadScenarios(paths);
    } catch (e) {
      if (e instanceof ScenarioLoadError) return e.problems.map((p) => p.message.replace(/^.*?smets-hil-loader-files-[^/]+/, 'D'));
      throw e;
    }
    return [];
  };
  t.deepEqual(problemsOf([join(dir, 'pack'), join(dir, 'empty')]), ['D/empty: holds no .yaml scenario file (worlds/ folders and dot-folders are not searched)']);

  execFileSync('mkfifo', [join(dir, 'fifo.yaml')]);
  t.deepEqual(problemsOf([join(dir, 'fifo.yaml')]), ['D/fifo.yaml: is not a regular file']);
  writeFileSync(join(dir, 'latin1.yaml'), Buffer.concat([Buffer.from(scenario('latin', '\n    tags: [a]').replace('title: t', 'title: caf')), Buffer.of(0xe9, 0x0a)]));
  t.deepEqual(problemsOf([join(dir, 'latin1.yaml')]), ['D/latin1.yaml:8: not UTF-8 text (save the file as UTF-8)']);
  writeFileSync(join(dir, 'tag.yaml'), scenario('tagged').replace('title: t', 'title: !important t'));
  t.regex(problemsOf([join(dir, 'tag.yaml')])[0]!, /^D\/tag\.yaml:4: not valid YAML: .*important/);
});
