import test from 'ava';
import { decodeGeneralCiphering, encodeGeneralCiphering, encodeGeneralSigning } from '../../../protocol/gbcs/apdu.ts';
import { dlmsDateTime } from '../../../protocol/gbcs/datetime.ts';
import { signApdu, wrapCommand } from '../../../protocol/gbcs/security.ts';
import { ECS02, ECS03, GCS02, GCS03 } from '../../../protocol/gbcs/usecases/catalogue.ts';
import { ECS17b } from '../../../protocol/gbcs/usecases/reads.ts';
import { ECS04a } from '../../../protocol/gbcs/usecases/meter-balance.ts';
import { DataAccessResult, ZclStatus } from '../../../protocol/gbcs/usecases/responses.ts';
import { generateKeyPair } from '../../../protocol/smki/keys.ts';
import { diffSnapshots, unexpectedChanges } from '../../../devices/snapshot.ts';
import { type MeterVariant } from '../../../devices/meter.ts';
import { type Smets2Meter } from '../../../devices/smets2/meter.ts';
import { answer, apduOf, build, keys, meter, pki, send, TWIN_EUI } from '../support.ts';

const now = { kind: 'now' } as const;
const credit = (variant: MeterVariant) => ({ variant, change: { target: { mode: 'credit' as const }, execution: now } });
const codecFor = (variant: MeterVariant) => (variant === 'gsme' ? GCS02 : ECS02);

/** A meter in prepayment that has accepted one command (counter 100) from the supplier. */
function primed(variant: MeterVariant) {
  const rig = meter(variant, { paymentMode: 'prepayment' });
  const first = rig.meter.process(build.command(variant === 'gsme' ? GCS03 : ECS03, { variant, change: { target: { mode: 'prepayment', suspendDebtDisabled: false, suspendDebtEmergency: true, disablementThreshold: 0 }, execution: now } }, { device: rig.meter.eui, counter: 100n }));
  if (!first) throw new Error('priming failed');
  return rig;
}

type Attack = (m: Smets2Meter, variant: MeterVariant) => Uint8Array;

/** Each attack, the Security Log code it must leave, and whether the meter answers (it cannot without an originator). */
const ATTACKS: { name: string; attack: Attack; code: string; answered: 'denied' | 'malformed' | 'unknown' | false }[] = [
  {
    name: 'a wrong ACB MAC (another ACB key)',
    attack: (m, v) => build.command(codecFor(v), credit(v), { device: m.eui, counter: 101n, acbKa: generateKeyPair().privateKey }),
    code: '8F1E',
    answered: 'denied',
  },
  {
    name: 'a MAC made for another device',
    attack: (m, v) => {
      const pre = build.preCommand(codecFor(v), credit(v), { device: m.eui, counter: 101n });
      return encodeGeneralCiphering(wrapCommand(signApdu(pre, pki.supplier.ds.privateKey), pki.acb.ka.privateKey, keys.keysFor(TWIN_EUI).ka.publicKey));
    },
    code: '8F1E',
    answered: 'denied',
  },
  {
    name: 'a signer in the wrong role (the network operator signs a payment mode change)',
    attack: (m, v) => build.command(codecFor(v), credit(v), { device: m.eui, counter: 101n, from: pki.networkOperator }),
    code: '8F30',
    answered: 'denied',
  },
  {
    name: 'a signer the meter does not trust (another supplier)',
    attack: (m, v) => build.command(codecFor(v), credit(v), { device: m.eui, counter: 101n, from: pki.otherSupplier }),
    code: '8F53',
    answered: 'denied',
  },
  {
    name: "the supplier's EUI signed with another supplier's key",
    attack: (m, v) => build.command(codecFor(v), credit(v), { device: m.eui, counter: 101n, signer: pki.otherSupplier.ds.privateKey }),
    code: '8F53',
    answered: 'denied',
  },
  {
    name: 'the supplier\'s EUI signed with the supplier\'s key-agreement key',
    attack: (m, v) => build.command(codecFor(v), credit(v), { device: m.eui, counter: 101n, signer: pki.supplier.ka.privateKey }),
    code: '8F53',
    answered: 'denied',
  },
  {
    name: 'a critical command without a signature',
    attack: (m, v) => build.command(codecFor(v), credit(v), { device: m.eui, counter: 101n, signer: null }),
    code: '8F53',
    answered: 'denied',
  },
  {
    name: 'a replayed counter',
    attack: (m, v) => build.command(codecFor(v), credit(v), { device: m.eui, counter: 100n }),
    code: '8F60',
    answered: 'denied',
  },
  {
    name: 'a lower counter',
    attack: (m, v) => build.command(codecFor(v), credit(v), { device: m.eui, counter: 99n }),
    code: '8F60',
    answered: 'denied',
  },
  {
    name: 'an unknown message code',
    attack: (m, v) => {
      const pre = { ...build.preCommand(codecFor(v), credit(v), { device: m.eui, counter: 101n }), messageCode: 0x0999 };
      return build.wrap(pre, true, { device: m.eui });
    },
    code: '8F1E',
    answered: 'unknown',
  },
  {
    name: "the other fuel's message code",
    attack: (m, v) => {
      const pre = { ...build.preCommand(codecFor(v), credit(v), { device: m.eui, counter: 101n }), messageCode: v === 'gsme' ? ECS02.code : GCS02.code };
      return build.wrap(pre, true, { device: m.eui });
    },
    code: '8F1E',
    answered: 'unknown',
  },
  {
    name: 'a signed, MACed prepayment payload under the credit message code',
    attack: (m, v) => {
      const prepayment = build.preCommand(v === 'gsme' ? GCS03 : ECS03, { variant: v, change: { target: { mode: 'prepayment', suspendDebtDisabled: false, suspendDebtEmergency: false, disablementThreshold: 0 }, execution: now } }, { device: m.eui, counter: 101n });
      return build.wrap({ ...prepayment, messageCode: codecFor(v).code }, true, { device: m.eui });
    },
    code: '8F1E',
    answered: 'malformed',
  },
  {
    name: 'a signed, MACed Command with a date-time in its header',
    attack: (m, v) => build.wrap({ ...build.preCommand(codecFor(v), credit(v), { device: m.eui, counter: 101n }), dateTime: dlmsDateTime(new Date('2031-05-05T00:00:00Z')) }, true, { device: m.eui }),
    code: '8F1E',
    answered: 'malformed',
  },
  {
    name: 'a signed, MACed Command with octets after its message code',
    attack: (m, v) => build.wrap({ ...build.preCommand(codecFor(v), credit(v), { device: m.eui, counter: 101n }), supplementary: Uint8Array.of(0xde, 0xad) }, true, { device: m.eui }),
    code: '8F1E',
    answered: 'malformed',
  },
  {
    name: 'a bare signed Pre-Command, not wrapped by the ACB',
    attack: (m, v) => encodeGeneralSigning(signApdu(build.preCommand(codecFor(v), credit(v), { device: m.eui, counter: 101n }), pki.supplier.ds.privateKey)),
    code: '8F1E',
    answered: 'denied',
  },
  {
    name: 'a truncated frame',
    attack: (m, v) => build.command(codecFor(v), credit(v), { device: m.eui, counter: 101n }).subarray(0, 60),
    code: '8F1E',
    answered: false,
  },
  {
    name: 'a frame with a byte flipped in the wrapper header',
    attack: (m, v) => {
      const f = Buffer.from(build.command(codecFor(v), credit(v), { device: m.eui, counter: 101n }));
      f[2] = 0x05;
      return f;
    },
    code: '8F1E',
    answered: false,
  },
  {
    name: 'a command for another device',
    attack: (_m, v) => build.command(codecFor(v), credit(v), { device: TWIN_EUI, counter: 101n }),
    code: '8F1E',
    answered: false,
  },
  {
    name: 'a response sent to the meter',
    attack: (m, v) => {
      const pre = { ...build.preCommand(codecFor(v), credit(v), { device: m.eui, counter: 101n }), cra: 'response' as const };
      return build.wrap(pre, true, { device: m.eui });
    },
    code: '8F1E',
    answered: false,
  },
];

for (const variant of ['esme', 'gsme'] as const) {
  for (const a of ATTACKS) {
    test(`${variant}: ${a.name} changes nothing but the Security Log (${a.code})`, (t) => {
      const { meter: m, sent } = primed(variant);
      const before = m.snapshot();
      const attack = a.attack(m, variant);
      const frame = m.process(attack);
      const after = m.snapshot();
      const changes = diffSnapshots(before, after);
      t.deepEqual(unexpectedChanges(changes, ['securityLog']), []);
      const log = after.securityLog as { code: string; reason: string }[];
      t.is(log.length, 1);
      t.is(log[0]?.code, a.code, log[0]?.reason);
      t.is(after.paymentMode, 'prepayment');
      t.deepEqual(sent, [], 'no alert');
      if (!a.answered) return t.is(frame, null);
      const ans = answer(m, frame);
      t.truthy(ans);
      t.false(ans!.outcome.success);
      t.true(ans!.signedByMeter, 'error responses are signed by the meter');
      t.is(ans!.apdu.counter, apduOf(attack).counter, 'answers the command it refused');
      const o = ans!.outcome;
      if (o.family === 'esme') {
        const want = { denied: DataAccessResult.readWriteDenied, malformed: DataAccessResult.typeUnmatched, unknown: DataAccessResult.objectUndefined }[a.answered];
        t.is(o.results[0], want);
      } else {
        const want = { denied: ZclStatus.notAuthorized, malformed: ZclStatus.malformedCommand, unknown: 0x81 }[a.answered];
        t.is(o.status, want);
      }
    });
  }
}

test('after a rejected replay the next higher counter is still accepted', (t) => {
  const { meter: m } = primed('esme');
  t.truthy(m.process(build.command(ECS04a, { amount: 1 }, { device: m.eui, counter: 100n })));
  t.is(m.meterBalance, 0);
  const ok = answer(m, m.process(build.command(ECS04a, { amount: 1 }, { device: m.eui, counter: 101n })));
  t.true(ok?.outcome.success);
  t.is(m.meterBalance, 1);
  t.is(m.snapshot().counters[pki.supplier.eui], '101');
});

test('counters are kept per remote party', (t) => {
  const { meter: m } = primed('esme');
  // The network operator's first read may use a counter below the supplier's.
  const read = m.process(build.command(ECS17b, {}, { device: m.eui, counter: 5n, from: pki.networkOperator }));
  t.true(answer(m, read)?.outcome.success);
  t.deepEqual(m.snapshot().counters, { [pki.supplier.eui]: '100', [pki.networkOperator.eui]: '5' });
});

test('a meter without an ACB cell accepts nothing', (t) => {
  const { meter: m } = meter('esme');
  m.setTrustAnchors(pki.anchors.with('accessControlBroker', undefined));
  const before = m.snapshot();
  const frame = m.process(build.command(ECS04a, { amount: 1 }, { device: m.eui, counter: 1n }));
  t.false(answer(m, frame)?.outcome.success);
  t.deepEqual(unexpectedChanges(diffSnapshots(before, m.snapshot()), ['securityLog', 'trustAnchors']), []);
});

test('a command whose MAC verifies but whose inner APDU was altered is refused', (t) => {
  const { meter: m } = primed('gsme');
  const good = Buffer.from(build.command(GCS02, credit('gsme'), { device: m.eui, counter: 101n }));
  const c = decodeGeneralCiphering(good);
  if (!c.ok) return t.fail();
  // Flip one bit of the signature inside the MACed payload: the MAC no longer verifies.
  const at = good.length - 12 - 10;
  good[at] = good[at]! ^ 1;
  const before = m.snapshot();
  t.false(answer(m, m.process(good))?.outcome.success);
  t.deepEqual(unexpectedChanges(diffSnapshots(before, m.snapshot()), ['securityLog']), []);
});

for (const [own, other] of [['esme', 'esme-twin'], ['esme-twin', 'esme']] as const) {
  test(`${own}: a payment-mode switch built for ${other} is refused (8F1E, malformed) and changes nothing but the Security Log`, (t) => {
    const { meter: m } = meter(own, { paymentMode: 'prepayment' });
    const before = m.snapshot();
    const a = send(m, ECS02, { variant: other, change: { target: { mode: 'credit' }, execution: { kind: 'now' } } }, { counter: 10n });
    t.false(a?.outcome.success);
    if (a?.outcome.family === 'esme') t.is(a.outcome.results[0], DataAccessResult.typeUnmatched);
    const after = m.snapshot();
    t.deepEqual(unexpectedChanges(diffSnapshots(before, after), ['securityLog']), []);
    t.is((after.securityLog as { code: string }[])[0]?.code, '8F1E');
  });
}
