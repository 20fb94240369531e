/** The CV 5 checks on their own: an SRV added to the SC list (MP134B BR3), and the role a Pre-Command was issued to (BR5). */
import test from 'ava';
import { buildCommandApdu } from '../../protocol/gbcs/usecases/command-codec.ts';
import { ECS43 } from '../../protocol/gbcs/usecases/supply.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { sameIssue, scContentCheck } from '../../emulator/transform.ts';

const FAILED = parseEui('90B3D51F30010001');
const ESME = parseEui('00DB0000000000A1');

test('BR3: an SRV added to the SC list is content-checked against its own use cases', (t) => {
  const ecs43 = buildCommandApdu(ECS43 as never, {} as never, { counter: 1n, originator: FAILED, recipient: ESME });
  t.is(scContentCheck('7.2', ecs43), null);
  const refused = scContentCheck('7.1', ecs43);
  t.is(refused?.code, 'E2');
  t.regex(refused?.reason ?? '', /0x0050 \(ECS43, SRV 7\.2\), not a use case of SRV 7\.1/);
  t.is(scContentCheck('1.6', ecs43)?.code, 'E2', '1.6 stays credit-only');
});


test('BR5: a CV 5 must be authorised in the role, and for the originator, its Pre-Command was issued to; one kept by an earlier version (neither recorded) is refused', (t) => {
  const issued = { user: FAILED, device: ESME, srv: '1.6', bytes: Buffer.alloc(0), usedBy: null };
  t.is(sameIssue({ ...issued, role: 'SC', originator: FAILED }, 'SC', FAILED), null);
  t.regex(sameIssue({ ...issued, role: 'SC', originator: FAILED }, 'IS', FAILED)?.reason ?? '', /issued to the SC role, and this request is authorised as IS/);
  t.regex(sameIssue({ ...issued, role: 'SC', originator: FAILED }, 'SC', ESME)?.reason ?? '', /names originator 90B3D51F30010001, and the device now trusts 00DB0000000000A1/);
  const old = sameIssue({ ...issued, role: null, originator: null }, 'IS', FAILED);
  t.like(old, { code: 'E12', check: 'correlation' });
  t.regex(old?.reason ?? '', /not recorded: transform again/);
});
