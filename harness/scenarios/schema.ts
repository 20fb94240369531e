/**
 * The scenario language, as zod schemas. A scenario file holds a list of scenarios that share a world (parties,
 * devices, a start time); each scenario is a list of steps, each step a one-key mapping ("request: {...}").
 * Scenario outlines expand one scenario over a table of values (`${device}` in any string).
 */
import { z } from 'zod';
import { clockRangeProblem } from '../../emulator/clock.ts';
import { DEVICE_TYPES, deviceKind, FUELS, SMI_STATUSES } from '../../emulator/registry.ts';
import { USER_ROLES } from '../../protocol/smki/roles.ts';
import { DCC_ALERT_CODES } from '../../protocol/duis/response-codes.ts';
import { isDateTime } from '../../protocol/duis/simple-types.ts';

const DURATION_FORMAT = 'a duration such as 500ms, 30s, 15m, 2h or 7d';

/**
 * "90s", "15m", "2h", "7d", optionally signed ("+1h", "-5m"). Always with its unit: a bare 5 would be 5 ms to
 * one reader and 5 s to another.
 */
export const duration = z.string({ error: `${DURATION_FORMAT} (with its unit)` }).regex(/^[+-]?\d+(ms|s|m|h|d)$/, DURATION_FORMAT);

/** Milliseconds; NaN for text that is not a duration. */
export function durationMs(d: string): number {
  const m = /^([+-]?\d+)(ms|s|m|h|d)$/.exec(d);
  if (!m) return Number.NaN;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/**
 * A duration whose milliseconds pass `ok`. zod runs a refinement even on a value the union refused ("3 hours"):
 * that one is left to the union's message.
 */
function durationWhere(ok: (ms: number) => boolean, message: string) {
  return duration.refine((d) => {
    const ms = durationMs(d);
    return Number.isNaN(ms) || ok(ms);
  }, message);
}

/** The longest a Node timer waits (2^31 - 1 ms, about 24.8 days): a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A time limit: more than nothing, and no longer than a timer can wait. */
export const timeLimit = durationWhere((ms) => ms > 0 && ms <= MAX_TIMER_MS, 'a time limit above 0 and at most 24 days');

const alias = z.string().regex(/^[a-z][a-z0-9-]*$|^\$\{[a-z]+\}$/, 'a lower-case name such as esme-1 (or an outline ${variable})');
const eui = z.string().regex(/^[0-9A-Fa-f]{16}$|^[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){7}$/, 'an EUI-64');
const srv = z.string().regex(/^\d+(\.\d+){1,2}$|^\$\{[a-z]+\}$/, 'an SRV such as "1.6" (quote it in YAML)');
/** A device alert code as GBCS writes it: four hex digits in capitals (8F66). */
const deviceAlertCode = z.string().regex(/^[0-9A-F]{4}$/, 'a device alert code: four hex digits in capitals, such as 8F66');
const responseCode = z.string().regex(/^(I0|I99|E\d+|W\d+|HTTP \d{3})$/, 'a DUIS response code (I0, I99, E2...) or "HTTP 401"');

export const partySchema = z.strictObject({
  eui: eui.optional(),
  name: z.string().optional(),
  roles: z.array(z.enum(USER_ROLES)).min(1),
  /** Alias of the party's Shared Resource Provider (BR7). */
  srp: alias.optional(),
  status: z.enum(['active', 'suspended']).default('active'),
});

export const deviceSchema = z
  .strictObject({
    eui: eui.optional(),
    type: z.enum(DEVICE_TYPES),
    twin: z.boolean().default(false),
    /** SMETS1 only (default electricity): an ESME is electricity, a GSME gas. */
    fuel: z.enum(FUELS).optional(),
    supplier: alias,
    network: alias.optional(),
    smiStatus: z.enum(SMI_STATUSES).default('commissioned'),
    /** Initial state: payment mode and balances the meter starts with. */
    state: z
      .strictObject({
        paymentMode: z.enum(['credit', 'prepayment']).optional(),
        meterBalance: z.number().int().optional(),
      })
      .default({}),
    /** Capabilities a rig device must offer to stand in for this one. */
    requires: z.array(z.string()).default([]),
  })
  .transform(deviceKind);

const ISO_WITH_OFFSET = z.iso.datetime({ offset: true, error: 'an ISO date-time with its offset, or now' });

export const worldSchema = z.strictObject({
  /**
   * The DCC's and the meters' clocks start here, and the DCC's stays there until a step moves it. `now`: the
   * DCC's clock runs in real time from the moment the world is made, as real meters' clocks do (they cannot be
   * moved), and emulated meters' clocks follow it, so that a future-dated command (`at: 30s`) falls due on any
   * meter while a step waits for its alert.
   */
  start: z
    .union([z.literal('now'), ISO_WITH_OFFSET])
    .superRefine((start, ctx) => {
      // Not a date-time at all: the union says so.
      if (start === 'now' || !ISO_WITH_OFFSET.safeParse(start).success) return;
      const at = Date.parse(start);
      // The offset as the DCC checks DUIS date-times.
      const problem = isDateTime(start) ? clockRangeProblem(at) : `${start}: no such date-time (time zones are within 14:00 of UTC)`;
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default('2026-01-05T09:00:00Z'),
  parties: z.record(alias, partySchema),
  devices: z.record(alias, deviceSchema),
});

/** Payment mode change in a request body. */
const paymentTarget = z.union(
  [
  z.enum(['credit', 'prepayment']),
  z.strictObject({
    prepayment: z.strictObject({
      suspendDebtDisabled: z.boolean().default(false),
      suspendDebtEmergency: z.boolean().default(true),
      disablementThreshold: z.number().int().default(0),
    }),
  }),
  ],
  { error: 'credit, prepayment, or { prepayment: { suspendDebtDisabled, suspendDebtEmergency, disablementThreshold } }' },
);

const expectation = z.strictObject(
  {
    /** The final synchronous answer: the CV 5 (or only) request's response code, or an HTTP status for rejects. */
    code: responseCode.optional(),
    /** For critical SMETS2+ requests: the CV 4 (transform) answer. */
    transform: responseCode.optional(),
    /** The asynchronous response delivered to the requester's endpoint (I0 when the device answered, E21...). */
    response: responseCode.optional(),
    /** The device's own verdict in its GBCS response. */
    device: z.enum(['success', 'failure']).optional(),
    /** A DCC alert to the requester (AD1 for quarantine). */
    dccAlert: z.enum(DCC_ALERT_CODES, { error: 'a DCC alert code DUIS defines (AD1, N1...)' }).optional(),
  },
  { error: 'what the answer must be: { code, transform, response, device or dccAlert }' },
);

/**
 * A DUIS body's content: element names to text, numbers, booleans, ~ (empty), nested mappings or lists. A number is
 * a whole one JavaScript holds exactly: YAML reads 73480000000000000001 (a UTRN) as a float, which would be sent
 * as 73480000000000000000.
 */
type BodyValue = string | number | boolean | null | BodyValue[] | { [element: string]: BodyValue };
const bodyValue: z.ZodType<BodyValue> = z.lazy(() =>
  z.union(
    [
      z.string(),
      z.boolean(),
      z.null(),
      z.number().refine(Number.isSafeInteger, 'a whole number of at most 15 digits: quote a longer one (a UTRN, an MPxN) so it is sent as written'),
      z.array(bodyValue),
      bodyContent,
    ],
    { error: 'text, a whole number, true/false, ~ (an empty element), a mapping of elements or a list' },
  ),
);
const bodyContent: z.ZodType<{ [element: string]: BodyValue }> = z.lazy(() => z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'an element name'), bodyValue));

/** How a request is spoiled, to prove the control that should catch it. */
const tamper = z.union([
  z.enum([
    'wrong-xml-signer', // XML signed by another party's key
    'replay', // the identical signed request sent again
    'replay-signed-precommand', // the same CV 5 sent twice
    'counter-rollover', // the Pre-Command's originator counter set to 2^64-1, re-signed
    'precommand-to-prepayment', // the Pre-Command's payload rewritten to a prepayment switch, re-signed
    'precommand-other-device', // the Pre-Command retargeted to another device, re-signed
    'unsigned-precommand', // CV 5 carries the Pre-Command without a signature
  ]),
  z.strictObject({ 'sign-precommand-with': alias }),
  z.strictObject({ 'xml-signer': alias }),
]);

export const requestStep = z.strictObject({
  as: alias,
  to: alias,
  srv: srv.default('1.6'),
  /** SRV 1.6 body; other SRVs send their DUIS body element (empty unless the SRV is modelled). */
  mode: paymentTarget.optional(),
  /**
   * For SRVs other than 1.6: the DUIS body's content as a mapping of element names to values (nested mappings
   * become child elements), e.g. { PrepaymentMode: { AdjustMeterBalance: 500 } } for SRV 1.5.
   */
  body: bodyContent.optional(),
  /** Future-dated execution ("+1h") or "cancel" (the DUIS cancellation date-time). */
  at: z.union([duration, z.literal('cancel')]).optional(),
  /** auto: CV 4 then 5 for critical SMETS2+ SRVs, else 1 (8 for non-device SRVs). */
  cv: z.union([z.literal('auto'), z.number().int().min(1).max(9)]).default('auto'),
  /** Whose GBCS key signs the Pre-Command: default the sender's own, or for SC the failed supplier's. */
  signWith: alias.optional(),
  tamper: tamper.optional(),
  /** Send this many identical-but-for-counter requests (anomaly detection). The expectation applies to the last. */
  repeat: z.number().int().min(1).max(10_000).default(1),
  /** What the answer must be: at least one of its parts (a request that checks nothing passes whatever the DCC says). */
  expect: expectation.refine((e) => Object.keys(e).length > 0, 'names nothing to check: give code, transform, response, device or dccAlert'),
  /** Device fields this step may change, per device alias; default: what the SRV touches on success, else nothing. */
  changes: z.record(alias, z.array(z.string())).optional(),
});

export const stepSchema = z.union([
  z.strictObject({
    solr: z
      .strictObject({ failed: alias, contingency: alias, start: duration.default('0s'), end: duration.optional(), devices: z.array(alias).min(1, 'names at least one device (leave devices out for all of them)').optional() })
      .refine((s) => s.end === undefined || !(durationMs(s.end) <= durationMs(s.start)), { path: ['end'], message: 'an instruction ends after it starts' }),
  }),
  z.strictObject({ officer: z.strictObject({ party: alias, id: z.string(), kind: z.enum(['ARO', 'SRO']) }) }),
  z.strictObject({
    adt: z.strictObject({
      party: alias,
      by: z.string(),
      supplier: alias.optional(),
      thresholds: z.array(z.strictObject({ srv, warning: z.number().int().min(0), quarantine: z.number().int().min(1), period: durationWhere((ms) => ms >= 1000, 'an ADT period of at least 1s').default('1d') })).min(1),
      expect: z.enum(['accepted', 'refused']).default('accepted'),
    }),
  }),
  /** The usual SoLR preparation in one step: the Authority's instruction, an SRO, an ADT file for SRV 1.6. */
  /**
   * The usual preparation in one step. `adt-srvs`: the SRVs its ADT file has thresholds for (default 1.6; `all`:
   * every SRV of the eligibility table, so that the role, not the ADT scope, is what refuses the others).
   */
  z.strictObject({
    'solr-contingency': z.strictObject({
      failed: alias,
      contingency: alias,
      quarantine: z.number().int().min(1).default(10_000),
      'adt-srvs': z.union([z.literal('all'), z.array(srv).min(1)]).default(['1.6']),
    }),
  }),
  z.strictObject({ request: requestStep }),
  z.strictObject({ advance: durationWhere((ms) => ms > 0, 'a move forward: above 0 (the clocks never go back)') }),
  /**
   * SMKI revokes a party's certificates, or a device's (its SMKI Device certificates: `device-ds`, `device-ka`):
   * one of `party` and `device`, with a certificate of that kind.
   */
  z.strictObject({
    revoke: z
      .strictObject({
        party: alias.optional(),
        device: alias.optional(),
        certificate: z.enum(['xml-signing', 'organisation-ds', 'organisation-ka', 'device-ds', 'device-ka', 'all']).default('all'),
        /** A PMA-delayed revocation: takes effect this much later. */
        delay: durationWhere((ms) => ms >= 0, 'a delay of 0 or more').optional(),
      })
      .superRefine((r, ctx) => {
        if ((r.party === undefined) === (r.device === undefined)) ctx.addIssue({ code: 'custom', message: 'names one of party and device' });
        else if (r.party !== undefined && r.certificate.startsWith('device-')) ctx.addIssue({ code: 'custom', path: ['certificate'], message: `${r.certificate} is a device's certificate: name the device, not a party` });
        else if (r.device !== undefined && !['device-ds', 'device-ka', 'all'].includes(r.certificate)) ctx.addIssue({ code: 'custom', path: ['certificate'], message: `a device holds device-ds and device-ka certificates, not ${r.certificate}` });
      }),
  }),
  z.strictObject({
    certificate: z.strictObject({
      party: alias,
      product: z.enum(['xml-signing', 'organisation-ds', 'organisation-ka']),
      role: z.enum(USER_ROLES).optional(),
      expect: z.enum(['issued', 'refused']),
      /** The requirement a refusal must name (MP134B BR2). */
      requirement: z.string().optional(),
    }).refine((c) => c.requirement === undefined || c.expect === 'refused', { path: ['requirement'], message: 'requirement is what a refusal names: it goes with expect: refused' }),
  }),
  z.strictObject({
    'expect-alert': z.strictObject({ at: alias, device: alias.optional(), code: deviceAlertCode, within: timeLimit.default('5s'), absent: z.boolean().default(false) }),
  }),
  /** Sends every SRV of the eligibility table except these, expecting one code for all (BR3). */
  z.strictObject({ 'every-other-srv': z.strictObject({ as: alias, to: alias, except: z.array(srv).default(['1.6']), expect: responseCode }) }),
  z.strictObject({
    'expect-state': z.strictObject({
      device: alias,
      paymentMode: z.enum(['credit', 'prepayment']).optional(),
      pending: z.enum(['credit', 'prepayment', 'none']).optional(),
      supply: z.enum(['enabled', 'disabled', 'armed']).optional(),
      meterBalance: z.number().int().optional(),
      /** A Security Log entry the meter must have written (8F1E format/MAC, 8F30 role, 8F53 signature, 8F60 replay). */
      securityEvent: z.enum(['8F1E', '8F30', '8F53', '8F60']).optional(),
    }).refine((e) => Object.keys(e).some((k) => k !== 'device'), 'names nothing to check: give paymentMode, pending, supply, meterBalance or securityEvent'),
  }),
  /** Arms a fault on the link to the devices for the next frames (emulated pools; proves the meters' own checks). */
  z.strictObject({
    'link-fault': z.strictObject({
      action: z.enum(['drop', 'duplicate', 'corrupt', 'delay']),
      direction: z.enum(['to-device', 'to-dcc']).default('to-device'),
      times: z.number().int().min(1).default(1),
      part: z.enum(['middle', 'mac']).optional(),
      delay: timeLimit.optional(),
    }).superRefine((f, ctx) => {
      // Read only by their own action: given to another, they would be dropped without a word.
      if (f.part !== undefined && f.action !== 'corrupt') ctx.addIssue({ code: 'custom', path: ['part'], message: `part is for corrupt, not ${f.action}` });
      if (f.delay !== undefined && f.action !== 'delay') ctx.addIssue({ code: 'custom', path: ['delay'], message: `delay is for the delay action, not ${f.action}` });
    }),
  }),
]);

export type Step = z.infer<typeof stepSchema>;

/** The step kinds, for "unknown step" errors that name what is known. */
export const STEP_KINDS = stepSchema.options.map((o) => Object.keys(o.shape)[0]!);
export type RequestStep = z.infer<typeof requestStep>;
export type World = z.infer<typeof worldSchema>;

/** A regular expression's source, compiled at load: a bad one would otherwise surface only after an error, mid-run. */
const regexSource = z.string().superRefine((source, ctx) => {
  try {
    new RegExp(source);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `not a regular expression (${(e as Error).message})` });
  }
});

/** A scenario's tags and its file's alike: what a tag filter (`--tags`, the HTML report's) can name. */
const tag = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash and underscore');

/**
 * An outline column's values. Each becomes part of a test's id ("s1[device=esme]"), which reports, history and
 * --grep key on: so a value holds only what an id may, and no two read alike (two tests of one id).
 */
const outlineColumn = z
  .array(z.union([z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:+\/-]*$/, 'an outline value: letters, digits and . _ : + / - (it becomes part of the test id)'), z.number()]))
  .min(1)
  .refine((values) => new Set(values.map(String)).size === values.length, 'each value once: two alike would make two tests of one id');

export const scenarioSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash and underscore'),
  title: z.string().min(1),
  tags: z.array(tag).default([]),
  level: z.enum(['smoke', 'pit', 'nightly']).default('pit'),
  /** Expand over every combination of these values; `${name}` in any string takes the row's value. */
  outline: z.record(z.string().regex(/^[a-z]+$/), outlineColumn).optional(),
  /**
   * Seeded defects of the mock DCC (or the meters) that must turn this scenario red: the checks it relies on.
   * The negative-control test seeds each in turn and expects these scenarios to fail.
   */
  'defeated-by': z.array(z.string()).default([]),
  /** Retry only when an infrastructure error matches this pattern (never on product failures). */
  retry: z.strictObject({ when: regexSource, attempts: z.number().int().min(2).max(5) }).optional(),
  timeouts: z.strictObject({ scenario: timeLimit.optional(), step: timeLimit.optional(), device: timeLimit.optional() }).default({}),
  steps: z.array(stepSchema).min(1),
});

export type Scenario = z.infer<typeof scenarioSchema>;

export const scenarioFileSchema = z.strictObject({
  /** A world file (relative to this file) or an inline world. */
  world: z.union([z.string(), worldSchema]),
  /** Tags added to every scenario in the file. */
  tags: z.array(tag).default([]),
  scenarios: z.array(scenarioSchema).min(1),
});
