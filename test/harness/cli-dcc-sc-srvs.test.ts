/** `smets-hil dcc serve --sc-allowed-srvs`: the SC list of MP134B BR3, configurable from the command line. */
import test from 'ava';
import { parseEui } from '../../protocol/smki/eui.ts';
import { DccAdminClient } from '../../harness/admin-client.ts';
import { fetchDccResolver } from '../../harness/agents/dcc-verifier.ts';
import { CounterSource, UserAgent } from '../../harness/agents/user-agent.ts';
import { runCli } from '../helpers/cli.ts';
import { startDccProcess } from '../helpers/dcc-process.ts';

const FAILED = parseEui('90B3D51F30010001');
const SRP = parseEui('90B3D51F30050001');
const ESME = parseEui('00DB0000000000A1');

test('dcc serve --sc-allowed-srvs: an SRV the eligibility table does not hold, or an empty entry, is a usage error naming it', async (t) => {
  for (const [list, message] of [
    ['1.6,9.99', /^--sc-allowed-srvs 1\.6,9\.99: SoLR Contingency allowed SRV 9\.99 is not in the eligibility table/],
    ['1.6,,2.2', /^--sc-allowed-srvs "1\.6,,2\.2": a comma-separated list of SRVs, such as 1\.6,2\.2/],
  ] as const) {
    const r = await runCli(['dcc', 'serve', '--port', '0', '--sc-allowed-srvs', list], { timeoutMs: 20_000 });
    t.is(r.code, 2, `${list}: ${r.stdout}${r.stderr}`);
    t.regex(r.stderr, message);
    t.notRegex(r.stdout, /listening/);
  }
});

test("dcc serve --sc-allowed-srvs 1.6,2.2: the SoLR Contingency role tops up a failed supplier's hosted meter (SRV 2.2, Command Variant 1), and the meter, which knows only the failed supplier, takes it", async (t) => {
  const dcc = await startDccProcess(['--sc-allowed-srvs', '1.6,2.2']);
  t.teardown(() => dcc.stop());
  const a = new DccAdminClient(dcc.url);
  await a.party({ eui: SRP, name: 'SRP', roles: ['SC'] });
  await a.party({ eui: FAILED, name: 'Failing Energy', roles: ['IS', 'GS'], srp: SRP });
  await a.gbcsSigner(FAILED);
  await a.certificate(FAILED, 'organisation-ka');
  await a.device({ eui: ESME, type: 'ESME', supplier: FAILED });
  const now = Date.parse((await a.now()).now);
  await a.solr({ failedSupplier: FAILED, contingencyParty: SRP, startsAt: new Date(now - 1000).toISOString() });
  await a.officer(SRP, { id: 'sro', kind: 'SRO', name: 'SRO' });
  await a.adt(SRP, { submittedBy: 'sro', supplier: FAILED, thresholds: [{ srv: '2.2', warning: 10, quarantine: 20, periodSeconds: 86400 }] });
  const sc = new UserAgent({ eui: SRP, name: 'sc', xml: await a.xmlSigner(SRP) }, { dccUrl: dcc.url, counters: new CounterSource(), dccVerifier: await fetchDccResolver(dcc.url) });

  const SR = 'http://www.dccinterface.co.uk/ServiceUserGateway';
  const topUp = { uri: SR, prefix: 'sr', local: 'TopUpDevice', attributes: [], namespaces: [], children: [] as unknown[], parent: null };
  topUp.children.push({ uri: SR, prefix: 'sr', local: 'UTRN', attributes: [], namespaces: [], children: ['00000500000000000001'], parent: topUp });
  const sent = await sc.post('serviceS', sc.request({ target: ESME, srv: '2.2', cv: 1, body: { kind: 'opaque', name: 'TopUpDevice', element: topUp } as never }));
  t.is(sent.response?.header.responseCode, 'I99', sent.text);

  let row: Awaited<ReturnType<typeof a.requests>>[number] | undefined;
  for (let i = 0; i < 200 && !row?.outcome; i++) {
    row = (await a.requests({ user: SRP }))[0];
    if (!row?.outcome) await new Promise((r) => setTimeout(r, 50));
  }
  t.like(row, { srv: '2.2', role: 'SC', outcome: 'device-responded' });
  const state = (await a.deviceState<{ utrnCounter: string | null; eventLog: { event: string }[] }>(ESME)).state;
  t.not(state?.utrnCounter, null, 'the meter applied the top-up');
  t.false(JSON.stringify(state?.eventLog ?? []).includes('8F53'), 'and logged no security event');
});
