/**
 * What the User agent takes from the DCC: a genuine DCC signature is not enough. The reply must answer the
 * request sent (its RequestID, a ResponseMessage), and a Pre-Command is signed only if it is the command the
 * request asked for: to that device, with that counter, of that use case, from the expected originator.
 */
import test from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CounterSource, UserAgent } from '../../harness/agents/user-agent.ts';
import { type DuisRequest, type DuisResponse, formatDateTime, parseRequest, type RequestBody, signResponse } from '../../protocol/duis/index.ts';
import { encodeGeneralSigning, type GeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { buildPaymentModePreCommand } from '../../protocol/gbcs/usecases/payment-mode.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { startTestDcc, type TestDcc, unreachableDevices } from '../helpers/dcc.ts';

const SUPPLIER = parseEui('90B3D51F30010001');
const OTHER_SUPPLIER = parseEui('90B3D51F30010002');
const METER = parseEui('00DB0000000000A1');
const OTHER_METER = parseEui('00DB0000000000B1');
const credit: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } };

/**
 * A DCC in the path that answers every request with `answer(request)`, signed with the real DCC's XML Signing
 * key (a broken DCC, or one replaying what it signed), and records the URLs posted to.
 */
async function signedAnswers(t: TestDcc, answer: (request: DuisRequest) => DuisResponse) {
  const posts: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push(req.url ?? '');
      const parsed = parseRequest(Buffer.concat(chunks).toString('utf8'));
      if (!parsed.ok) return res.writeHead(400).end();
      res.writeHead(200, { 'content-type': 'application/xml' }).end(signResponse(answer(parsed.value), t.dcc.service.options.keys.xmlSigner));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, posts, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function setup(t: import('ava').ExecutionContext, answer: (request: DuisRequest) => DuisResponse) {
  const dcc = await startTestDcc(unreachableDevices());
  t.teardown(() => dcc.close());
  await dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS'], endpoint: dcc.endpoint.url });
  const path = await signedAnswers(dcc, answer);
  t.teardown(path.close);
  const identity = { eui: SUPPLIER, name: 'supplier', xml: await dcc.admin.xmlSigner(SUPPLIER), gbcsSigner: (await dcc.admin.gbcsSigner(SUPPLIER)).privateKey };
  const agent = new UserAgent(identity, { dccUrl: path.url, counters: new CounterSource(), dccVerifier: dcc.endpoint.dccVerifier });
  return { dcc, agent, posts: path.posts };
}

function preCommandReply(request: DuisRequest, alter: (a: GeneralSigning) => GeneralSigning = (a) => a): DuisResponse {
  const { requestId } = request.header;
  const apdu = buildPaymentModePreCommand({ variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'now' } }, counter: requestId.counter, originator: requestId.user, recipient: requestId.target });
  return {
    schemaVersion: '5.4',
    header: { requestId, responseCode: 'I0', responseDateTime: formatDateTime(new Date()) },
    body: { kind: 'ResponseMessage', serviceReference: request.header.serviceReference, serviceReferenceVariant: request.header.serviceReferenceVariant, content: { kind: 'PreCommand', gbcsVersion: '4.0', gbcsPayload: encodeGeneralSigning(alter(apdu)) } },
  };
}

test('a DCC-signed alert (ResponseID, no RequestID) is not taken for the answer to a request', async (t) => {
  const { dcc, agent } = await setup(t, (request) => ({
    schemaVersion: '5.4',
    header: { responseId: { originator: dcc.dcc.service.options.keys.dccEui, target: SUPPLIER, counter: 1n }, responseCode: 'I0', responseDateTime: formatDateTime(new Date()) },
    body: { kind: 'DCCAlertMessage', dccAlertCode: 'AD1', alert: { kind: 'QuarantinedRequest', breach: 'ADUserThresholdBreach', requestId: { ...request.header.requestId, counter: 5n }, quarantineEventRef: 1n } },
  }));
  const r = await agent.post('serviceT', agent.request({ target: METER, srv: '1.6', cv: 4, body: credit }));
  t.is(r.status, 200);
  t.is(r.response, null);
  t.regex(r.problem ?? '', /^DCC reply rejected: it names no RequestID \(a DCCAlertMessage with ResponseID \S+\), not \S+$/);
});

test('a DCC-signed message with the RequestID but no ResponseMessage is not the answer either', async (t) => {
  const { agent } = await setup(t, (request) => ({
    schemaVersion: '5.4',
    header: { requestId: request.header.requestId, responseCode: 'I0', responseDateTime: formatDateTime(new Date()) },
    body: { kind: 'DeviceAlertMessage', alertCode: '8F66', gbcsPayload: Uint8Array.of(1, 2, 3) },
  }));
  const r = await agent.post('serviceT', agent.request({ target: METER, srv: '1.6', cv: 4, body: credit }));
  t.is(r.response, null);
  t.regex(r.problem ?? '', /^DCC reply rejected: it is a DeviceAlertMessage, not a ResponseMessage answering \S+$/);
});

test('the Pre-Command the request asked for is signed and sent', async (t) => {
  const { agent, posts } = await setup(t, (request) => preCommandReply(request));
  const r = await agent.critical({ target: METER, srv: '1.6', body: credit }, { originator: SUPPLIER });
  t.is(r.transform.problem, null);
  t.truthy(r.signedXml);
  t.like(r.command, { cra: 'command', recipient: METER, originator: SUPPLIER, counter: r.requestId.counter, messageCode: 0x001a }, 'the command sent, for checking the answer');
  t.is(r.command?.signature?.length, 64);
  t.deepEqual(posts, ['/api/v1/serviceT', '/api/v1/serviceS']);
});

test('a Pre-Command for another device, counter, use case or originator is not signed', async (t) => {
  const cases: [string, (a: GeneralSigning) => GeneralSigning, RegExp][] = [
    ['another device', (a) => ({ ...a, recipient: OTHER_METER }), /it is addressed to 00DB0000000000B1, not to 00DB0000000000A1/],
    ['another counter', (a) => ({ ...a, counter: a.counter - 1n }), /its counter is \d+, not \d+, the RequestID's/],
    ['another use case of SRV 1.6', (a) => ({ ...a, messageCode: 0x001b }), /its message code 0x001B \(ECS03\) is not one SRV 1\.6 asks for \(0x001A, 0x006C\)/],
    ['another SRV', (a) => ({ ...a, messageCode: 0x0050 }), /its message code 0x0050 \(ECS43\)/],
    ['another originator', (a) => ({ ...a, originator: OTHER_SUPPLIER }), /its originator is 90B3D51F30010002, not 90B3D51F30010001/],
    ['not a command', (a) => ({ ...a, cra: 'response' }), /it is a response, not a command/],
  ];
  let alter = cases[0]![1];
  const { agent, posts } = await setup(t, (request) => preCommandReply(request, alter));
  for (const [what, change, why] of cases) {
    alter = change;
    posts.length = 0;
    const r = await agent.critical({ target: METER, srv: '1.6', body: credit }, { originator: SUPPLIER });
    t.is(r.transform.response, null, what);
    t.regex(r.transform.problem ?? '', new RegExp(`^Pre-Command refused: ${why.source}`), what);
    t.is(r.send, null, `${what}: no Signed Pre-Command went out`);
    t.deepEqual(posts, ['/api/v1/serviceT'], what);
  }
});
