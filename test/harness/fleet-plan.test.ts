/**
 * The fleet plan's choice of adversarial targets (pure, no shards): requests aimed at the failed supplier's Credit
 * meters go to distinct meters while there are any left, whatever the number of Credit meters.
 */
import test from 'ava';
import { coprimeStride, FleetPlan, type FleetOptions, JOB_KINDS } from '../../harness/fleet/plan.ts';

const options = (o: Partial<FleetOptions> = {}): FleetOptions => ({ meters: 2000, prepayShare: 0.14, smets1Share: 0.37, adversarialShare: 0.2, workers: 2, seed: 'fleet plan test', ...o });

/** The smallest fleet whose Credit meters (all, or only the SMETS2+ ones) number `count`. */
function fleetWithCredits(count: number, smets2Only: boolean): number {
  const plan = new FleetPlan(options({ meters: 1 }));
  let credits = 0;
  for (let i = 0; ; i++) {
    const m = plan.meter(i);
    if (!m.prepay && !(smets2Only && m.type === 'SMETS1') && ++credits === count) return i + 1;
  }
}

for (const [what, count, smets2Only, kinds] of [
  ['Credit meters', 7919, false, ['prepayment', 'other-srv']],
  ['Credit meters', 2 * 7919, false, ['prepayment', 'other-srv']],
  ['SMETS2+ Credit meters', 7919, true, ['altered']],
] as const) {
  test(`adversarial requests go to distinct meters when the fleet has ${count} ${what} (a multiple of 7919)`, (t) => {
    const meters = fleetWithCredits(count, smets2Only);
    const plan = new FleetPlan(options({ meters }));
    // The prepayment and other-srv requests share the Credit meters; altered ones have the SMETS2+ ones to themselves.
    const list = plan.adversarial();
    let requests = 0;
    const distinct = new Set<number>();
    for (let j = 0; j < list.meter.length; j++) {
      if (!(kinds as readonly string[]).includes(JOB_KINDS[list.kind[j]!]!)) continue;
      requests++;
      distinct.add(list.meter[j]!);
    }
    t.true(requests > 100 && requests <= count, `${requests} requests on ${count} ${what}`);
    t.is(distinct.size, requests, `${kinds.join(' and ')}: one meter each`);
  });
}

test('the stride through a list of targets shares no factor with its length, and is 7919 where that already holds', (t) => {
  const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
  for (const length of [1, 2, 7918, 7919, 7920, 2 * 7919, 7919 * 7920, 3 * 5 * 7 * 7919]) t.is(gcd(coprimeStride(length), length), 1, String(length));
  t.is(coprimeStride(7918), 7919);
  t.is(coprimeStride(10_000), 7919);
});
