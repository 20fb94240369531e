/**
 * The DCC's transform of SRV 1.5 and 2.2 bodies reads them as the DUIS schema has them: a body the schema refuses
 * is refused (E11 at the DCC), never acted on with a meaning of the transform's own.
 */
import test from 'ava';
import { parseRequest } from '../../../protocol/duis/index.ts';
import { ECS04a } from '../../../protocol/gbcs/usecases/meter-balance.ts';
import { TransformError } from '../../../protocol/transform/payment-mode.ts';
import { commandForRequest } from '../../../protocol/transform/device-services.ts';
import { SUPPLIER, template } from '../duis/support.ts';

const AT = new Date('2030-01-01T00:00:00Z');
const balance = template('ECS04a_1.5_SUCCESS_REQUEST_DUIS.XML');
const topUp = template('CS01a_2.2_SUCCESS_REQUEST_DUIS.XML');
const withBalanceBody = (body: string) => balance.replace(/<sr:UpdateMeterBalance>[\s\S]*<\/sr:UpdateMeterBalance>/, `<sr:UpdateMeterBalance>${body}</sr:UpdateMeterBalance>`);

function command(xml: string) {
  const r = parseRequest(xml);
  if (!r.ok) throw new Error(r.error.toString());
  return commandForRequest(r.value, 'esme', SUPPLIER, AT);
}

test('SRV 1.5: PrepaymentMode/AdjustMeterBalance becomes ECS04a with its amount', (t) => {
  const { apdu, critical } = command(withBalanceBody('<sr:PrepaymentMode><sr:AdjustMeterBalance>1200000</sr:AdjustMeterBalance></sr:PrepaymentMode>'));
  t.true(critical);
  t.like(ECS04a.parse(apdu), { ok: true, value: { amount: 1200000 } });
});

const refused: [string, string, RegExp][] = [
  ['both options of the choice (CreditMode -100, then PrepaymentMode)', '<sr:CreditMode><sr:AdjustMeterBalance>-100</sr:AdjustMeterBalance></sr:CreditMode><sr:PrepaymentMode><sr:AdjustMeterBalance>1200000</sr:AdjustMeterBalance></sr:PrepaymentMode>', /unexpected PrepaymentMode/],
  ['Reset and Adjust together', '<sr:PrepaymentMode><sr:ResetMeterBalance/><sr:AdjustMeterBalance>1200000</sr:AdjustMeterBalance></sr:PrepaymentMode>', /unexpected AdjustMeterBalance/],
  ['children in another namespace', '<x:PrepaymentMode xmlns:x="urn:evil"><x:AdjustMeterBalance>1200000</x:AdjustMeterBalance></x:PrepaymentMode>', /expected PrepaymentMode or CreditMode, found x:PrepaymentMode in namespace "urn:evil"/],
  ['an element inside the amount', '<sr:PrepaymentMode><sr:AdjustMeterBalance>12<sr:X>-9</sr:X>00000</sr:AdjustMeterBalance></sr:PrepaymentMode>', /unexpected element sr:X in simple content/],
  ['two amounts', '<sr:PrepaymentMode><sr:AdjustMeterBalance>1200000</sr:AdjustMeterBalance><sr:AdjustMeterBalance>-5</sr:AdjustMeterBalance></sr:PrepaymentMode>', /unexpected AdjustMeterBalance/],
  ['an amount beyond xs:int', '<sr:PrepaymentMode><sr:AdjustMeterBalance>2147483648</sr:AdjustMeterBalance></sr:PrepaymentMode>', /outside the xs:int range/],
  ['a choice this DCC does not transform', '<sr:CreditMode><sr:ResetMeterBalance/></sr:CreditMode>', /CreditMode\/ResetMeterBalance is not transformed by this DCC/],
];
for (const [name, body, message] of refused) {
  test(`SRV 1.5 refuses ${name}`, (t) => {
    t.throws(() => command(withBalanceBody(body)), { instanceOf: TransformError, message });
  });
}

test('SRV 2.2: exactly one UTRN of 20 digits', (t) => {
  t.notThrows(() => command(topUp));
  const two = topUp.replace(/(<sr:UTRN>[0-9]{20}<\/sr:UTRN>)/, '$1<sr:UTRN>99999999999999999999</sr:UTRN>');
  t.not(two, topUp);
  t.throws(() => command(two), { instanceOf: TransformError, message: /unexpected UTRN/ });
  t.throws(() => command(topUp.replace(/<sr:UTRN>([0-9]{20})</, '<sr:UTRN> $1 <')), { instanceOf: TransformError, message: /is not 20 digits/ });
});
