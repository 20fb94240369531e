/**
 * A model of who may change which meter, and how, for property-based tests over the MP134B standard world: the
 * failing supplier (before and after the Authority declares it failed), its SRP as the SoLR Contingency party, a
 * healthy supplier and a network operator, sending SRV 1.6 (credit or prepayment) and other SRVs to every meter,
 * with every tampering the scenario language knows.
 *
 * The model says, for each request, which meter (if any) changes and how: to which payment mode (SRV 1.6), or
 * within what another device service the DCC transforms may write (supply 7.1-7.3, emergency credit 2.5,
 * balance 1.5, top-up 2.2; whether the meter then acts depends on its own state, so the model bounds those
 * rather than predicting them). The runner executes a sequence through the real harness (a mock DCC on
 * loopback, User agents, emulated meters) and checks after every action that each meter's payment mode is what
 * the model says and that nothing else changed beyond the fields that use case may write (SC switches: only what
 * a switch to Credit may write; refused requests: only the Security Log; other meters: nothing).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { diffSnapshots, type Json, unexpectedChanges } from '../../../devices/snapshot.ts';
import { useCasesForSrv } from '../../../protocol/gbcs/message-codes.ts';
import { DEVICE_SERVICE_SRVS } from '../../../protocol/transform/device-services.ts';
import type { AnyDefect } from '../../../harness/defects.ts';
import { splitDefects } from '../../../harness/defects.ts';
import { ProductFailure, runStep } from '../../../harness/engine/steps.ts';
import { WorldInstance } from '../../../harness/engine/world.ts';
import { EmulatedPool } from '../../../harness/pools/emulated.ts';
import { type Step, stepSchema, type World, worldSchema } from '../../../harness/scenarios/schema.ts';
import { repoRoot } from '../../helpers/fixtures.ts';

export const WORLD: World = worldSchema.parse(parseYaml(readFileSync(`${repoRoot}/scenarios/worlds/standard.yaml`, 'utf8')));

export const SENDERS = ['srp', 'failing', 'healthy', 'network'] as const;
export type Sender = (typeof SENDERS)[number];
export const DEVICES = Object.keys(WORLD.devices);
/** SRVs other than 1.6: transformed by the DCC or not, critical and not, device and not, for various roles. */
export const OTHER_SRVS = ['7.1', '7.2', '7.3', '2.5', '1.5', '2.2', '2.1', '4.1.1', '4.3', '6.2.1', '11.1'] as const;
/** Critical SRVs among them: sent as CV 4 + CV 5 to SMETS2+ meters, so Pre-Command tampering applies. */
const CRITICAL = new Set(['1.6', '7.1', '7.2', '7.3', '2.5', '1.5', '2.1']);
/** Parties holding a GBCS Digital Signing key (the SC party holds none: MP134B BR2). */
export const KEY_HOLDERS = ['failing', 'healthy', 'network'] as const;

export type Tamper =
  | 'wrong-xml-signer'
  | 'replay'
  | 'replay-signed-precommand'
  | 'counter-rollover'
  | 'precommand-to-prepayment'
  | 'precommand-other-device'
  | 'unsigned-precommand'
  | { 'sign-precommand-with': (typeof KEY_HOLDERS)[number] }
  | { 'xml-signer': Sender };

export type Action =
  | { kind: 'fail' }
  | { kind: 'request'; as: Sender; to: string; content: 'credit' | 'prepayment' | { srv: string }; tamper?: Tamper };

// ------------------------------------------------------------------------------------------------ the model

export interface ModelState {
  failed: boolean;
  modes: Record<string, 'credit' | 'prepayment'>;
}

export function initialState(): ModelState {
  return { failed: false, modes: Object.fromEntries(Object.entries(WORLD.devices).map(([k, d]) => [k, d.state.paymentMode ?? 'credit'])) };
}

const PRECOMMAND_TAMPERS = new Set(['counter-rollover', 'precommand-to-prepayment', 'precommand-other-device', 'unsigned-precommand']);

/**
 * What a request may do to its target: nothing; switch the payment mode (SRV 1.6); or run another device
 * service (the meter may act or refuse on its own state: its changes are bounded by the use case).
 */
export type Effect = { kind: 'none' } | { kind: 'mode'; mode: 'credit' | 'prepayment' } | { kind: 'service'; srv: string; useCase: string };
const NONE: Effect = { kind: 'none' };

export function familyOf(device: string): 'esme' | 'gsme' {
  const d = WORLD.devices[device]!;
  return d.type === 'GSME' || (d.type === 'SMETS1' && d.fuel === 'gas') ? 'gsme' : 'esme';
}

export function expectedEffect(s: ModelState, a: Extract<Action, { kind: 'request' }>): Effect {
  const device = WORLD.devices[a.to]!;
  const smets2 = device.type !== 'SMETS1';
  const srv = typeof a.content === 'string' ? '1.6' : a.content.srv;
  const t = a.tamper;
  // An XML signature by anyone but the RequestID's User: 401, nothing happens.
  if (t === 'wrong-xml-signer' || (typeof t === 'object' && 'xml-signer' in t && t['xml-signer'] !== a.as)) return NONE;
  // Pre-Command tampering exists only on the SMETS2+ critical path: correlation refuses it (any role).
  const criticalPath = smets2 && CRITICAL.has(srv);
  if (criticalPath && typeof t === 'string' && PRECOMMAND_TAMPERS.has(t)) return NONE;
  const authorised =
    a.as === 'srp' ? s.failed && device.supplier === 'failing' && a.content === 'credit'
    : a.as === 'failing' ? !s.failed && device.supplier === 'failing'
    : a.as === 'healthy' ? device.supplier === 'healthy'
    : false;
  if (!authorised) return NONE;
  // The meter checks the signature against its supplier's key: signed by anyone else, refused by the meter.
  if (criticalPath && typeof t === 'object' && 'sign-precommand-with' in t && t['sign-precommand-with'] !== device.supplier) return NONE;
  // Replays (of the request or of the Signed Pre-Command): the first goes through, the replay is refused.
  if (typeof a.content === 'string') return { kind: 'mode', mode: a.content };
  // Other SRVs: only the device services the DCC transforms, on SMETS2+ meters whose family has the use case.
  const useCase = useCasesForSrv(srv).find((u) => u.family === familyOf(a.to))?.name;
  return smets2 && DEVICE_SERVICE_SRVS.includes(srv) && useCase ? { kind: 'service', srv, useCase } : NONE;
}

export function applyAction(s: ModelState, a: Action): ModelState {
  if (a.kind === 'fail') return { ...s, failed: true };
  const effect = expectedEffect(s, a);
  return effect.kind === 'mode' ? { ...s, modes: { ...s.modes, [a.to]: effect.mode } } : s;
}

// ------------------------------------------------------------------------------------------------ generators

const arbTamper: fc.Arbitrary<Tamper> = fc.oneof(
  fc.constantFrom<Tamper>('wrong-xml-signer', 'replay', 'replay-signed-precommand', 'counter-rollover', 'precommand-to-prepayment', 'precommand-other-device', 'unsigned-precommand'),
  fc.constantFrom(...KEY_HOLDERS).map((p): Tamper => ({ 'sign-precommand-with': p })),
  fc.constantFrom(...SENDERS).map((p): Tamper => ({ 'xml-signer': p })),
);

// Weighted towards the SC party and the failing supplier, whose requests the invariant is about.
const arbSender = fc.oneof({ weight: 3, arbitrary: fc.constant<Sender>('srp') }, { weight: 2, arbitrary: fc.constantFrom<Sender>('failing', 'healthy') }, { weight: 1, arbitrary: fc.constant<Sender>('network') });

const arbRequest: fc.Arbitrary<Action> = fc.record(
  {
    kind: fc.constant('request' as const),
    as: arbSender,
    to: fc.constantFrom(...DEVICES),
    content: fc.oneof({ weight: 3, arbitrary: fc.constant('credit' as const) }, { weight: 2, arbitrary: fc.constant('prepayment' as const) }, { weight: 1, arbitrary: fc.constantFrom(...OTHER_SRVS).map((srv) => ({ srv })) }),
    tamper: fc.option(arbTamper, { nil: undefined, freq: 4 }),
  },
  { requiredKeys: ['kind', 'as', 'to', 'content'] },
).map((a) => {
  // Rewriting a prepayment Pre-Command to the standard prepayment switch can leave its bytes as they were (a
  // tamper that tampers nothing): not generated.
  if (a.kind === 'request' && a.content === 'prepayment' && a.tamper === 'precommand-to-prepayment') return { ...a, tamper: undefined };
  return a;
});

/** Sequences of requests with the supplier's failure somewhere (half the time first, else anywhere or nowhere). */
export function arbSequence(maxLength: number): fc.Arbitrary<Action[]> {
  const actions = fc.array(fc.oneof({ weight: 4, arbitrary: arbRequest }, { weight: 1, arbitrary: fc.constant<Action>({ kind: 'fail' }) }), { minLength: 1, maxLength: Math.max(1, maxLength - 1) });
  return fc.tuple(fc.boolean(), actions).map(([failFirst, rest]) => (failFirst ? [{ kind: 'fail' } as Action, ...rest] : rest));
}

// ------------------------------------------------------------------------------------------------ the runner

export function describe(a: Action): string {
  if (a.kind === 'fail') return 'the Authority instructs srp for failed supplier failing';
  const what = typeof a.content === 'string' ? `1.6 ${a.content}` : `SRV ${a.content.srv}`;
  return `${a.as} -> ${a.to}: ${what}${a.tamper ? `, tamper ${JSON.stringify(a.tamper)}` : ''}`;
}

/**
 * The step an action is. A request expects nothing of its answer: the model judges what changed, and a scenario
 * file must name an expectation, so one is given to pass the schema and then taken away.
 */
function stepOf(a: Action): Step {
  if (a.kind === 'fail') return stepSchema.parse({ solr: { failed: 'failing', contingency: 'srp' } });
  const srv = typeof a.content === 'string' ? '1.6' : a.content.srv;
  const step = stepSchema.parse({ request: { as: a.as, to: a.to, srv, ...(typeof a.content === 'string' ? { mode: a.content } : {}), ...(a.tamper ? { tamper: a.tamper } : {}), expect: { code: 'I0' } } });
  if ('request' in step) step.request.expect = {};
  return step;
}

function paymentUseCase(device: string, mode: 'credit' | 'prepayment'): string {
  const gas = familyOf(device) === 'gsme';
  return gas ? (mode === 'credit' ? 'GCS02' : 'GCS03') : mode === 'credit' ? 'ECS02' : 'ECS03';
}

export interface RunResult {
  ok: boolean;
  /** The first violation, with the action that caused it. */
  problem?: string;
  /** Requests the model let change a meter, by sender, and requests it expected to change nothing. */
  stats: { changed: Record<Sender, number>; refused: number };
}

/**
 * Runs one sequence in a fresh world (optionally with seeded defects) and checks the model after every action.
 * Throws only for infrastructure trouble; a violation is reported in the result.
 */
export async function runSequence(actions: readonly Action[], options: { defects?: readonly AnyDefect[]; deviceTimeoutMs?: number } = {}): Promise<RunResult> {
  const { dcc, meter } = splitDefects(options.defects ?? []);
  const pool = new EmulatedPool({ defects: meter });
  const deviceTimeoutMs = options.deviceTimeoutMs ?? 10_000;
  const world = await WorldInstance.create(WORLD, { pool, deviceTimeoutMs, defects: dcc });
  // The SRP's ADT file for the failing supplier's meters is in place from the start (BR4), so before the
  // Authority's instruction only that instruction (BR6) stands between the SC party and those meters.
  const srp = world.party('srp').eui;
  await world.admin.officer(srp, { id: 'srp-sro', kind: 'SRO', name: 'SRP SRO' });
  await world.admin.adt(srp, { submittedBy: 'srp-sro', supplier: world.party('failing').eui, thresholds: [{ srv: '1.6', warning: 9_999, quarantine: 10_000, periodSeconds: 86_400 }] });
  const stats: RunResult['stats'] = { changed: { srp: 0, failing: 0, healthy: 0, network: 0 }, refused: 0 };
  try {
    let model = initialState();
    const snap = () => new Map([...world.devices.values()].map((d) => [d.alias, world.pool.snapshot(d.eui) as Json]));
    for (const [i, action] of actions.entries()) {
      if (action.kind === 'fail' && model.failed) continue;
      const before = snap();
      try {
        await runStep(stepOf(action), { world, deviceTimeoutMs });
      } catch (e) {
        // The step's own checks (a device answer its sender cannot believe) found the product at fault.
        if (e instanceof ProductFailure) return { ok: false, stats, problem: `action ${i + 1} of ${actions.length} (${describe(action)}): ${e.message}` };
        throw e;
      }
      await world.settle();
      const after = snap();
      const effect = action.kind === 'request' ? expectedEffect(model, action) : NONE;
      if (action.kind === 'request') {
        if (effect.kind !== 'none') stats.changed[action.as]++;
        else stats.refused++;
      }
      model = applyAction(model, action);
      for (const d of world.devices.values()) {
        const changes = diffSnapshots(before.get(d.alias)!, after.get(d.alias)!);
        const mode = (after.get(d.alias) as { paymentMode: string }).paymentMode;
        const where = `action ${i + 1} of ${actions.length} (${describe(action)}): ${d.alias}`;
        if (mode !== model.modes[d.alias]) return { ok: false, stats, problem: `${where}: payment mode is ${mode}, the model says ${model.modes[d.alias]}` };
        let allowed: readonly string[] = [];
        if (action.kind === 'request' && action.to === d.alias) {
          const source = action.as === 'srp' ? world.party('failing').eui : world.party(action.as).eui;
          if (effect.kind === 'mode') {
            allowed = action.as === 'srp' ? world.pool.allowedChanges('solr-credit', '1.6', d.eui, source) : world.pool.allowedChanges(paymentUseCase(d.alias, effect.mode), '1.6', d.eui, source);
          } else if (effect.kind === 'service') {
            allowed = world.pool.allowedChanges(effect.useCase, effect.srv, d.eui, source);
          }
          allowed = [...allowed, 'securityLog'];
        }
        // However it was sent or replayed, one request executes at most once.
        const runs = (snapshot: Json | undefined) => ((snapshot as { eventLog?: { event: string }[] } | undefined)?.eventLog ?? []).filter((e) => e.event === 'executed').length;
        if (runs(after.get(d.alias)) - runs(before.get(d.alias)) > 1) return { ok: false, stats, problem: `${where}: executed ${runs(after.get(d.alias)) - runs(before.get(d.alias))} times` };
        const unexpected = unexpectedChanges(changes, allowed);
        if (unexpected.length) return { ok: false, stats, problem: `${where}: changed where it must not: ${unexpected.map((c) => `${c.path} ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`).join('; ')}` };
      }
    }
    // Every request the DCC logged has exactly one terminal outcome.
    const open = (await world.admin.requests()).filter((r) => !r.outcome);
    if (open.length) return { ok: false, stats, problem: `${open.length} request(s) without a terminal outcome: ${open.map((r) => r.requestId).join(', ')}` };
    return { ok: true, stats };
  } finally {
    await world.close();
    await pool.close();
  }
}
