/** The DCC's SRV 1.6 transform: an execution time a meter cannot hold is refused with a message naming it. */
import test from 'ava';
import { preCommandForRequest } from '../../../protocol/transform/payment-mode.ts';
import { creditRequest } from '../duis/support.ts';

const at = (executionDateTime: string) => {
  const request = creditRequest();
  request.body = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' }, executionDateTime };
  return request;
};
const now = new Date('2026-01-05T09:00:00Z');

test('an ExecutionDateTime a meter can hold becomes the Pre-Command; one it cannot is a TransformError naming it', (t) => {
  t.truthy(preCommandForRequest(at('2030-01-01T00:00:00Z'), 'gsme', now));
  t.truthy(preCommandForRequest(at('2200-01-01T00:00:00Z'), 'esme', now), 'a DLMS date-time holds years to 65534');
  t.throws(() => preCommandForRequest(at('2200-01-01T00:00:00Z'), 'gsme', now), {
    name: 'TransformError',
    message: /^ExecutionDateTime 2200-01-01T00:00:00.000Z does not fit the gsme's date-time: .*outside ZigBee UTCTime/,
  });
  t.throws(() => preCommandForRequest(at('999999-01-01T00:00:00Z'), 'esme', now), { name: 'TransformError', message: /^ExecutionDateTime "999999-01-01T00:00:00Z" is beyond any meter's clock$/ });
});
