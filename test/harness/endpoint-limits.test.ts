/** A User endpoint reads what a DCC could send it and no more: a body larger than any DUIS response is refused unread. */
import test from 'ava';
import { MAX_DELIVERY_BYTES, UserEndpoint } from '../../harness/agents/endpoint.ts';
import { head, rawExchange } from '../helpers/raw-http.ts';

test('a delivery over MAX_DELIVERY_BYTES gets 413 and is neither kept nor offered to waiters; the endpoint goes on serving', async (t) => {
  const endpoint = new UserEndpoint(() => null);
  await endpoint.listen();
  t.teardown(() => endpoint.close());
  // Over a bare socket, which reads the answer even when the endpoint closes before the body is all sent.
  const big = await rawExchange(endpoint.url, Buffer.concat([Buffer.from(head('/', { contentType: 'application/xml', contentLength: MAX_DELIVERY_BYTES + 1 })), Buffer.alloc(MAX_DELIVERY_BYTES + 1, 0x3c)]));
  t.is(big.status, 413);
  t.is(endpoint.deliveries.length, 0);
  const small = await fetch(endpoint.url, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<not-signed/>' });
  t.is(small.status, 200);
  t.is(endpoint.deliveries.length, 1);
  t.regex(endpoint.deliveries[0]!.problem ?? '', /./, 'kept, with why it did not verify');
});
