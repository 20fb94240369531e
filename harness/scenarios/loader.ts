/**
 * Loads scenario files: YAML parsed with positions, validated against the scenario language, world files
 * resolved, outlines expanded, and every alias checked against the world. Every problem is reported as
 * "file:line: what is wrong"; nothing half-valid is run.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { z } from 'zod';
import { clockRangeProblem } from '../../emulator/clock.ts';
import { DEVICE_PARTY_ROLES, roleMismatch } from '../../emulator/registry.ts';
import type { UserRole } from '../../protocol/smki/roles.ts';
import { isDefect } from '../defects.ts';
import { durationMs, type Scenario, scenarioFileSchema, scenarioSchema, STEP_KINDS, type Step, type World, worldSchema } from './schema.ts';
import { stepProblems } from './step-checks.ts';
import { worldEui } from './world-euis.ts';
import { readYamlSource, ScenarioFileError, type YamlSource } from './yaml-source.ts';

export interface LoadedScenario {
  id: string;
  title: string;
  tags: string[];
  level: Scenario['level'];
  file: string;
  world: World;
  /** The world's file, when the scenario file names one rather than holding its world inline. */
  worldFile?: string;
  /** The line of its id in the file. */
  line?: number;
  steps: Step[];
  retry: Scenario['retry'];
  timeouts: Scenario['timeouts'];
  /** Seeded defects that must make this scenario fail. */
  defeatedBy: string[];
  /** The outline row this test was expanded from. */
  row?: Record<string, string | number>;
}

export class ScenarioLoadError extends Error {
  override readonly name = 'ScenarioLoadError';
  constructor(readonly problems: ScenarioFileError[]) {
    super(problems.map((p) => p.message).join('\n'));
  }
}

function zodProblems(source: YamlSource, error: z.ZodError, prefix: (string | number)[] = []): ScenarioFileError[] {
  // A union reports every branch; keep the deepest issue per path so the message names the real mistake.
  const seen = new Set<string>();
  const out: ScenarioFileError[] = [];
  const issues = error.issues.flatMap((i) =>
    i.code === 'invalid_union' && 'errors' in i && Array.isArray(i.errors) && i.errors.length > 0
      ? (i.errors as z.core.$ZodIssue[][]).reduce((best, e) => (e.length > 0 && (e[0]!.path.length > (best[0]?.path.length ?? -1)) ? e : best), [] as z.core.$ZodIssue[]).map((e) => ({ ...e, path: [...i.path, ...e.path] }))
      : [i],
  );
  for (const issue of issues) {
    const path = [...prefix, ...issue.path] as (string | number)[];
    const where = path.length ? path.join('.') : 'file';
    const key = `${where}: ${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(new ScenarioFileError(source.file, source.lineOf(path), `${where}: ${issue.message}`));
  }
  return out;
}

/** The most tests one outline may expand to: a table of a few long columns multiplies into millions. */
export const MAX_OUTLINE_TESTS = 1000;

/**
 * What is wrong with a scenario's outline as a table: a column no step reads (its tests would all run the same
 * steps, reported as if each tried another value), or more rows than MAX_OUTLINE_TESTS.
 */
function checkOutline(s: Scenario, raw: Record<string, unknown>): { path: string[]; message: string }[] {
  if (!s.outline) return [];
  const used = new Set<string>();
  const collect = (v: unknown): void => {
    if (typeof v === 'string') for (const m of v.matchAll(/\$\{([a-z]+)\}/g)) used.add(m[1]!);
    else if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) collect(k), collect(x);
  };
  collect(raw.steps);
  const columns = Object.entries(s.outline);
  const out = columns.filter(([name]) => !used.has(name)).map(([name, values]) => ({ path: [name], message: `outline column ${name} is read by no step (no \${${name}} in the steps): its ${values.length} tests would all run the same steps` }));
  const tests = columns.reduce((n, [, values]) => n * values.length, 1);
  if (tests > MAX_OUTLINE_TESTS) out.push({ path: [], message: `the outline expands to ${tests.toLocaleString('en-GB')} tests, more than ${MAX_OUTLINE_TESTS}: split the scenario` });
  return out;
}

/**
 * One scenario per row of its outline, each read again from the file's text with the row's values substituted
 * (in keys too): a value that does not fit where it lands (a number as an SRV) is then a load error, as written
 * out it would be. `raw` is the scenario as the file holds it; `s` is it read.
 */
function expandOutline(
  s: Scenario,
  raw: Record<string, unknown>,
): { id: string; row?: Record<string, string | number>; scenario: Scenario | null; error?: z.ZodError }[] {
  if (!s.outline) return [{ id: s.id, scenario: s }];
  let rows: Record<string, string | number>[] = [{}];
  for (const [name, values] of Object.entries(s.outline)) rows = rows.flatMap((r) => values.map((v) => ({ ...r, [name]: v })));
  return rows.map((row) => {
    const text = (v: string) => v.replace(/\$\{([a-z]+)\}/g, (m, name: string) => (name in row ? String(row[name]) : m));
    const substitute = (v: unknown): unknown => {
      if (typeof v === 'string') {
        const whole = /^\$\{([a-z]+)\}$/.exec(v);
        return whole && whole[1]! in row ? row[whole[1]!] : text(v);
      }
      if (Array.isArray(v)) return v.map(substitute);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [text(k), substitute(x)]));
      return v;
    };
    const label = Object.entries(row)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const { outline: _outline, ...rest } = raw;
    const parsed = scenarioSchema.safeParse(substitute(rest));
    return { id: `${s.id}[${label}]`, row, scenario: parsed.success ? { ...parsed.data, id: s.id } : null, ...(parsed.success ? {} : { error: parsed.error }) };
  });
}

/** A party or device a step names ('any': either). */
type AliasUse = { kind: 'party' | 'device' | 'any'; name: string };

function knownAs(world: World, a: AliasUse): boolean {
  return a.kind === 'party' ? a.name in world.parties : a.kind === 'device' ? a.name in world.devices : a.name in world.parties || a.name in world.devices;
}

/** The aliases a use of this kind may name, for an error message. */
function aliasesOfKind(world: World, kind: AliasUse['kind']): string {
  return (kind === 'party' ? Object.keys(world.parties) : kind === 'device' ? Object.keys(world.devices) : [...Object.keys(world.parties), ...Object.keys(world.devices)]).join(', ');
}

/** Aliases a step names, with the path to each, for "unknown party/device" errors. */
function aliasesIn(step: Step): (AliasUse & { path: (string | number)[] })[] {
  const [kind, body] = Object.entries(step)[0] as [string, Record<string, unknown>];
  const out: (AliasUse & { path: (string | number)[] })[] = [];
  const add = (k: AliasUse['kind'], key: string) => {
    const v = body[key];
    if (typeof v === 'string') out.push({ kind: k, name: v, path: [kind, key] });
    if (Array.isArray(v)) v.forEach((x, i) => typeof x === 'string' && out.push({ kind: k, name: x, path: [kind, key, i] }));
  };
  if (kind === 'request') {
    add('party', 'as');
    add('device', 'to');
    add('party', 'signWith');
    const t = body.tamper as Record<string, unknown> | undefined;
    if (t && typeof t === 'object') for (const [k, v] of Object.entries(t)) if (typeof v === 'string') out.push({ kind: 'party', name: v, path: [kind, 'tamper', k] });
    for (const d of Object.keys((body.changes as object | undefined) ?? {})) out.push({ kind: 'device', name: d, path: [kind, 'changes', d] });
  }
  if (kind === 'solr' || kind === 'solr-contingency') {
    add('party', 'failed');
    add('party', 'contingency');
    add('device', 'devices');
  }
  if (kind === 'officer' || kind === 'adt' || kind === 'revoke' || kind === 'certificate') add('party', 'party');
  if (kind === 'revoke') add('device', 'device');
  if (kind === 'adt') add('party', 'supplier');
  if (kind === 'expect-alert') {
    add('party', 'at');
    add('device', 'device');
  }
  if (kind === 'expect-state') add('device', 'device');
  if (kind === 'every-other-srv') {
    add('party', 'as');
    add('device', 'to');
  }
  return out;
}

function checkWorld(source: YamlSource, world: World, worldPath: (string | number)[]): ScenarioFileError[] {
  const problems: ScenarioFileError[] = [];
  for (const [name, p] of Object.entries(world.parties)) {
    if (p.srp && !(p.srp in world.parties)) problems.push(new ScenarioFileError(source.file, source.lineOf([...worldPath, 'parties', name, 'srp']), `party ${name}: srp ${p.srp} is not a party of the world`));
    // The world gives every IS, GS, ED and GT party its GBCS certificates, which SMKI refuses an SC party.
    const gbcs = p.roles.filter((r) => r === 'IS' || r === 'GS' || r === 'ED' || r === 'GT');
    if (p.roles.includes('SC') && gbcs.length) {
      problems.push(new ScenarioFileError(source.file, source.lineOf([...worldPath, 'parties', name, 'roles']), `party ${name}: an SC party holds no GBCS Digital Signing certificate (MP134B BR2), which ${gbcs.join(' and ')} need: give it SC alone`));
    }
  }
  // Two aliases with one EUI (however written, or one derived from an alias) would be one party or device to
  // the DCC, which the steps would then take for two.
  const euis = (kind: 'party' | 'device', entries: [string, { eui?: string | undefined }][]) => {
    const first = new Map<string, string>();
    for (const [name, x] of entries) {
      const eui = worldEui(name, kind, x.eui);
      const other = first.get(eui);
      if (other) problems.push(new ScenarioFileError(source.file, source.lineOf([...worldPath, kind === 'party' ? 'parties' : 'devices', name, 'eui']), `${kind} ${name}: EUI ${eui} is also ${kind} ${other}'s`));
      else first.set(eui, name);
    }
  };
  euis('party', Object.entries(world.parties));
  euis('device', Object.entries(world.devices));
  for (const [name, d] of Object.entries(world.devices)) {
    const roles = DEVICE_PARTY_ROLES[d.fuel];
    const check = (field: 'supplier' | 'network', alias: string, need: { role: UserRole; what: string }) => {
      const at = source.lineOf([...worldPath, 'devices', name, field]);
      const party = world.parties[alias];
      if (!party) problems.push(new ScenarioFileError(source.file, at, `device ${name}: ${field} ${alias} is not a party of the world`));
      else {
        const mismatch = roleMismatch(alias, party.roles, [need.role], need.what);
        if (mismatch) problems.push(new ScenarioFileError(source.file, at, `device ${name}: ${field} ${mismatch}`));
      }
    };
    check('supplier', d.supplier, roles.supplier);
    if (d.network) check('network', d.network, roles.networkOperator);
  }
  return problems;
}

const worldCache = new Map<string, { world: World; source: YamlSource }>();

function loadWorld(path: string): World {
  const cached = worldCache.get(path);
  if (cached) return cached.world;
  const source = readYamlSource(path);
  const parsed = worldSchema.safeParse(source.value);
  if (!parsed.success) throw new ScenarioLoadError(zodProblems(source, parsed.error));
  const problems = checkWorld(source, parsed.data, []);
  if (problems.length) throw new ScenarioLoadError(problems);
  worldCache.set(path, { world: parsed.data, source });
  return parsed.data;
}

/** A step is a mapping with exactly one known key: say so plainly before zod reports every union branch. */
function stepShapeProblems(source: YamlSource): ScenarioFileError[] {
  const out: ScenarioFileError[] = [];
  const scenarios = (source.value as { scenarios?: unknown } | null)?.scenarios;
  if (!Array.isArray(scenarios)) return out;
  scenarios.forEach((sc, si) => {
    const steps = (sc as { steps?: unknown } | null)?.steps;
    if (!Array.isArray(steps)) return;
    steps.forEach((step, i) => {
      const path = ['scenarios', si, 'steps', i];
      const keys = step && typeof step === 'object' && !Array.isArray(step) ? Object.keys(step) : [];
      if (keys.length !== 1) {
        out.push(new ScenarioFileError(source.file, source.lineOf(path), `scenarios.${si}.steps.${i}: a step is a mapping with one key, the step kind (${STEP_KINDS.join(', ')})`));
      } else if (!STEP_KINDS.includes(keys[0]!)) {
        out.push(new ScenarioFileError(source.file, source.lineOf(path), `scenarios.${si}.steps.${i}: unknown step "${keys[0]}" (known: ${STEP_KINDS.join(', ')})`));
      }
    });
  });
  return out;
}

/** Loads one scenario file (or text, for tests) into runnable scenarios, outlines expanded. */
export function loadScenarioFile(file: string, text?: string): LoadedScenario[] {
  let source: YamlSource;
  try {
    source = readYamlSource(file, text);
  } catch (e) {
    if (e instanceof ScenarioFileError) throw new ScenarioLoadError([e]);
    throw e;
  }
  const value = source.value as Record<string, unknown> | null;
  if (value && typeof value === 'object' && !('scenarios' in value) && ('parties' in value || 'devices' in value)) {
    throw new ScenarioLoadError([new ScenarioFileError(file, 1, "is a world file (parties, devices), not a scenario file: name it from a scenario file's world:, or keep it in a worlds/ folder, which is not searched")]);
  }
  const shape = stepShapeProblems(source);
  if (shape.length) throw new ScenarioLoadError(shape);
  const parsed = scenarioFileSchema.safeParse(source.value);
  if (!parsed.success) throw new ScenarioLoadError(zodProblems(source, parsed.error));
  const spec = parsed.data;
  let world: World;
  const problems: ScenarioFileError[] = [];
  let worldFile: string | undefined;
  if (typeof spec.world === 'string') {
    worldFile = worldPath(file, spec.world);
    try {
      world = loadWorld(worldFile);
    } catch (e) {
      if (e instanceof ScenarioLoadError) throw e;
      // A problem at a line of the world file is reported there; one without (the file cannot be read) at the line naming it.
      if (e instanceof ScenarioFileError && e.line !== null) throw new ScenarioLoadError([e]);
      if (e instanceof ScenarioFileError) throw new ScenarioLoadError([new ScenarioFileError(file, source.lineOf(['world']), `world ${spec.world}: ${e.problem}`)]);
      throw e;
    }
  } else {
    world = spec.world;
    problems.push(...checkWorld(source, world, ['world']));
  }
  const out: LoadedScenario[] = [];
  const ids = new Set<string>();
  spec.scenarios.forEach((scenario, si) => {
    if (ids.has(scenario.id)) problems.push(new ScenarioFileError(file, source.lineOf(['scenarios', si, 'id']), `scenario id ${scenario.id} appears twice`));
    ids.add(scenario.id);
    // A misspelt name would make the negative control that seeds it never run.
    scenario['defeated-by'].forEach((name, i) => {
      if (!isDefect(name)) problems.push(new ScenarioFileError(file, source.lineOf(['scenarios', si, 'defeated-by', i]), `defeated-by: ${name} is not a seeded defect (README: Negative controls)`));
    });
    const variables = Object.keys(scenario.outline ?? {});
    // Each scenario's world starts afresh: its advances must keep the clocks where the meters' date-times reach
    // (a live world from now, which only moves on from there while it runs).
    let clock = world.start === 'now' ? Date.now() : Date.parse(world.start);
    scenario.steps.forEach((step, i) => {
      if ('advance' in step) {
        clock += durationMs(step.advance);
        const problem = clockRangeProblem(clock);
        if (problem) problems.push(new ScenarioFileError(file, source.lineOf(['scenarios', si, 'steps', i, 'advance']), `advance: ${problem}`));
      }
      for (const a of aliasesIn(step)) {
        const line = source.lineOf(['scenarios', si, 'steps', i, ...a.path]);
        const variable = /^\$\{([a-z]+)\}$/.exec(a.name)?.[1];
        if (variable !== undefined) {
          if (!variables.includes(variable)) problems.push(new ScenarioFileError(file, line, `${a.name} is not a variable of this scenario's outline (${variables.length ? variables.join(', ') : 'it has none'})`));
        } else if (!knownAs(world, a)) {
          problems.push(new ScenarioFileError(file, line, `${a.kind} ${a.name} is not in the world (${aliasesOfKind(world, a.kind)})`));
        }
      }
    });
    const raw = ((source.value as { scenarios: unknown[] }).scenarios[si] ?? {}) as Record<string, unknown>;
    const idLine = source.lineOf(['scenarios', si, 'id']);
    const outlineProblems = checkOutline(scenario, raw);
    for (const p of outlineProblems) problems.push(new ScenarioFileError(file, source.lineOf(['scenarios', si, 'outline', ...p.path]), p.message));
    if (outlineProblems.length) return;
    for (const e of expandOutline(scenario, raw)) {
      if (!e.scenario) {
        for (const p of zodProblems(source, e.error!, ['scenarios', si])) problems.push(new ScenarioFileError(file, p.line, `${e.id}: ${p.problem}`));
        continue;
      }
      const prefix = e.row ? `${e.id}: ` : '';
      e.scenario.steps.forEach((step, i) => {
        // Outline values must name aliases of the right kind too, once substituted.
        if (e.row) {
          for (const a of aliasesIn(step)) {
            // A variable left unsubstituted names no outline column: reported above.
            if (!knownAs(world, a) && !a.name.startsWith('${')) problems.push(new ScenarioFileError(file, source.lineOf(['scenarios', si, 'steps', i, ...a.path]), `${e.id}: ${a.kind} ${a.name} (from the outline) is not in the world (${aliasesOfKind(world, a.kind)})`));
          }
        }
        for (const p of stepProblems(step, world)) problems.push(new ScenarioFileError(file, source.lineOf(['scenarios', si, 'steps', i, ...p.path]), `${prefix}${p.message}`));
      });
      out.push({
        id: e.id,
        title: e.scenario.title,
        tags: [...new Set([...spec.tags, ...e.scenario.tags])],
        level: e.scenario.level,
        file,
        world,
        ...(worldFile ? { worldFile } : {}),
        ...(idLine !== null ? { line: idLine } : {}),
        steps: e.scenario.steps,
        retry: e.scenario.retry,
        timeouts: e.scenario.timeouts,
        defeatedBy: e.scenario['defeated-by'],
        ...(e.row ? { row: e.row } : {}),
      });
    }
  });
  if (problems.length) throw new ScenarioLoadError(problems);
  return out;
}

/** Every *.yaml scenario file under the given paths (files or directories), sorted; world files are skipped. */
export function findScenarioFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  // Folders by their real path: a link back to a parent (or to a folder named too) is walked once, not for ever.
  const walked = new Set<string>();
  let seenAgain = 0;
  const visit = (p: string) => {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file or directory' : code === 'ELOOP' ? 'a loop of symbolic links' : (e as Error).message;
      throw new ScenarioLoadError([new ScenarioFileError(p, null, why)]);
    }
    if (st.isDirectory()) {
      const real = realpathSync(p);
      // Walked already (named twice, or a link back): what it holds is counted there.
      if (walked.has(real)) return void seenAgain++;
      walked.add(real);
      let names: string[];
      try {
        names = readdirSync(p).sort();
      } catch (e) {
        // A folder that cannot be listed may hold scenarios: say so, as for a file that cannot be read.
        throw new ScenarioLoadError([new ScenarioFileError(p, null, `cannot list: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)]);
      }
      for (const name of names) {
        if (name === 'worlds' || name.startsWith('.')) continue;
        const child = join(p, name);
        // A broken link to a scenario file is reported by visit; one to anything else is not ours to read.
        const isYaml = /\.ya?ml$/i.test(name);
        if (isYaml || isFolder(child)) visit(child);
      }
    } else files.push(p);
  };
  for (const p of paths) {
    const before = files.length + seenAgain;
    visit(p);
    // A folder named that holds no scenario file is a wrong path, not an empty part of the run.
    if (files.length + seenAgain === before && isFolder(p)) throw new ScenarioLoadError([new ScenarioFileError(p, null, 'holds no .yaml scenario file (worlds/ folders and dot-folders are not searched)')]);
  }
  // A file named twice (itself and through its folder, or through a link) is one file, not a scenario id
  // clashing with itself.
  const seen = new Set<string>();
  return files.filter((f) => {
    const real = realpathSync(f);
    return !seen.has(real) && seen.add(real);
  });
}

/**
 * Where a scenario file's `world:` is: beside the file as named, else beside the file it really is (a pack
 * reached through a link to its folder, or a file linked in from elsewhere, names its world from where it lives).
 */
function worldPath(file: string, world: string): string {
  const named = resolve(dirname(file), world);
  if (existsSync(named) || !existsSync(file)) return named; // (a file given as text has only its name)
  const real = resolve(dirname(realpathSync(file)), world);
  return existsSync(real) ? real : named;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // dangling, a link loop, unreadable: not a folder of ours
  }
}

/** Loads every scenario under the paths; all files' problems are reported together. */
export function loadScenarios(paths: readonly string[]): LoadedScenario[] {
  const problems: ScenarioFileError[] = [];
  const out: LoadedScenario[] = [];
  const failed: { file: string; problems: ScenarioFileError[] }[] = [];
  for (const file of findScenarioFiles(paths)) {
    try {
      out.push(...loadScenarioFile(relative(process.cwd(), file) || file));
    } catch (e) {
      if (e instanceof ScenarioLoadError) failed.push({ file, problems: e.problems });
      else if (e instanceof ScenarioFileError) failed.push({ file, problems: [e] });
      else throw e;
    }
  }
  // A world file kept beside its scenarios is found with them: it is the world they name, not a bad scenario file.
  const worlds = new Set(out.flatMap((s) => (s.worldFile ? [realpathSync(s.worldFile)] : [])));
  for (const f of failed) if (!worlds.has(realpathSync(f.file))) problems.push(...f.problems);
  const ids = new Map<string, LoadedScenario>();
  for (const s of out) {
    const other = ids.get(s.id);
    if (other) problems.push(new ScenarioFileError(s.file, s.line ?? null, `scenario id ${s.id} is also used in ${other.file}${other.line ? `:${other.line}` : ''}`));
    ids.set(s.id, s);
  }
  if (problems.length) throw new ScenarioLoadError(problems);
  return out;
}

/** Tag filter: "BR5,smets1" keeps scenarios carrying any of the tags; "BR5+smets1" needs all. */
export function matchesTags(tags: readonly string[], filter: string | undefined): boolean {
  if (!filter) return true;
  return filter.split(',').some((alt) => alt.split('+').every((t) => tags.includes(t.trim())));
}
