/**
 * What a step says that its world and the eligibility table can already show wrong, before anything runs: an SRV
 * the DCC does not know, and request options the request's path would drop without a word (a tamper of the
 * Signed Pre-Command on a request that has none, a payment mode on another SRV). Each would otherwise surface
 * mid-run as an infrastructure error, or not at all: a step titled "tampered" that sent an honest request.
 */
import { EligibilityTable } from '../../emulator/access/srv-matrix.ts';
import type { RequestStep, Step, World } from './schema.ts';

export interface StepProblem {
  /** Below the step: ['request', 'tamper']. */
  path: (string | number)[];
  message: string;
}

/** The tampers that change the Signed Pre-Command (CV 5), which only a critical request to a SMETS2+ meter has. */
const PRE_COMMAND_TAMPERS = new Set(['replay-signed-precommand', 'counter-rollover', 'precommand-to-prepayment', 'precommand-other-device', 'unsigned-precommand']);

let table: EligibilityTable | null = null;
/** The SRVs and their criticality are the same in every DCC the harness makes (scAllowedSrvs changes roles only). */
const eligibility = () => (table ??= EligibilityTable.load());

/** Problems of one step of a scenario whose outline values are substituted: a `${...}` left names no column. */
export function stepProblems(step: Step, world: World): StepProblem[] {
  const unknownSrv = (srv: string, path: (string | number)[]): StepProblem[] =>
    eligibility().get(srv)
      ? []
      : [{ path, message: srv.startsWith('${') ? `SRV ${srv} is not a variable of this scenario's outline` : `SRV ${srv} is not in the eligibility table` }];
  if ('request' in step) return requestProblems(step.request, world, unknownSrv);
  if ('adt' in step) return step.adt.thresholds.flatMap((t, i) => unknownSrv(t.srv, ['adt', 'thresholds', i, 'srv']));
  if ('solr-contingency' in step) {
    const srvs = step['solr-contingency']['adt-srvs'];
    return srvs === 'all' ? [] : srvs.flatMap((s, i) => unknownSrv(s, ['solr-contingency', 'adt-srvs', i]));
  }
  if ('every-other-srv' in step) return step['every-other-srv'].except.flatMap((s, i) => unknownSrv(s, ['every-other-srv', 'except', i]));
  return [];
}

function requestProblems(r: RequestStep, world: World, unknownSrv: (srv: string, path: (string | number)[]) => StepProblem[]): StepProblem[] {
  const out: StepProblem[] = [];
  const at = (key: string, message: string) => out.push({ path: ['request', key], message });
  if (r.srv === '1.6') {
    if (r.body !== undefined) at('body', 'SRV 1.6 builds its body from mode and at: body is for other SRVs');
  } else {
    if (r.mode !== undefined) at('mode', `mode is SRV 1.6's (the payment mode to switch to), not SRV ${r.srv}'s: give its body`);
    if (r.at !== undefined) at('at', `at dates an SRV 1.6 switch, not SRV ${r.srv}`);
  }
  out.push(...unknownSrv(r.srv, ['request', 'srv']));
  const device = world.devices[r.to];
  const row = eligibility().get(r.srv);
  // An SRV or a device reported already: the path cannot be told.
  if (!row || !device) return out;
  const preCommand = r.cv === 'auto' && row.critical && !row.nonDevice && device.type !== 'SMETS1';
  const how = row.nonDevice
    ? `SRV ${r.srv} addresses no device (CV 8)`
    : device.type === 'SMETS1'
      ? `${r.to} is a SMETS1 meter: the DCC hands the request to the S1SP, no Pre-Command is signed`
      : r.cv !== 'auto'
        ? `cv ${r.cv} sends the request as given, no Pre-Command is signed`
        : `SRV ${r.srv} is not critical: it goes as CV 1, no Pre-Command is signed`;
  if (preCommand) {
    if (r.tamper === 'replay') at('tamper', 'replay sends a request once more as it was; this one goes as CV 4 then CV 5: replay-signed-precommand sends the CV 5 again');
  } else {
    const tamper = r.tamper;
    if (typeof tamper === 'string' && PRE_COMMAND_TAMPERS.has(tamper)) at('tamper', `${tamper} changes the Signed Pre-Command, and this request has none (${how})`);
    if (typeof tamper === 'object' && 'sign-precommand-with' in tamper) at('tamper', `sign-precommand-with signs the Pre-Command, and this request has none (${how})`);
    if (r.signWith !== undefined) at('signWith', `signWith names the key that signs the Pre-Command, and this request has none (${how})`);
    if (r.expect.transform !== undefined) out.push({ path: ['request', 'expect', 'transform'], message: `expect.transform is the answer to the CV 4 transform request, and this request has none (${how})` });
  }
  return out;
}
