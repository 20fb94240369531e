/**
 * The DUIS adversarial corpus against a running mock DCC over HTTP, plus what only exists at the HTTP layer
 * (content types, body limits, encodings, truncated, lying, smuggled and trickled bodies, header floods).
 *
 * Every case must get a 4xx with a reason (never a 5xx, never a crash), leave no row in the audit log (the DCC
 * logs what it refuses in its rejections table, except what the HTTP layer refuses before the DCC reads it:
 * 408, 413, 415, 431 and malformed framing), queue nothing, and change no device. A last test proves the same
 * DCC takes the untouched request and switches the meter, so the refusals are not a dead service.
 */
import { readFileSync } from 'node:fs';
import test from 'ava';
import { createDcc, type RunningDcc, ZAZ1 } from '../../emulator/bootstrap.ts';
import { decodeGeneralSigning, encodeGeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { signApdu } from '../../protocol/gbcs/security.ts';
import { type DuisRequest, parseRequest, signRequest } from '../../protocol/duis/index.ts';
import { EmulatedPool } from '../../harness/pools/emulated.ts';
import { hostileDocuments } from '../protocol/duis/adversarial-corpus.ts';
import { creditRequest, keystore, SUPPLIER, supplierSigner } from '../protocol/duis/support.ts';
import { zaz1KeystorePath } from '../helpers/fixtures.ts';
import { head, RawConnection, rawExchange } from '../helpers/raw-http.ts';

const BODY_LIMIT = 256 * 1024;
const REQUEST_TIMEOUT_MS = 1500;
const PATHS = ['/api/v1/serviceT', '/api/v1/serviceS', '/api/v1/serviceD'] as const;
const original = signRequest(creditRequest(), supplierSigner);
const corpus = hostileDocuments(original);

let dcc: RunningDcc;
let pool: EmulatedPool;
let url: string;
let initial: string;

const count = (table: string) => (dcc.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
const lastRejection = () => dcc.db.prepare('SELECT url, http_status, reason FROM rejections ORDER BY id DESC LIMIT 1').get() as { url: string; http_status: number; reason: string } | undefined;
const devices = () => JSON.stringify([pool.snapshot(ZAZ1.esme), pool.snapshot(ZAZ1.gsme)]);

test.before(async () => {
  pool = new EmulatedPool({ defaultInitial: { paymentMode: 'prepayment' } });
  dcc = await createDcc({
    stateDir: null,
    zaz1: readFileSync(zaz1KeystorePath, 'utf8'),
    devices: pool.port,
    provisioner: pool.provisioner,
    http: { bodyLimit: BODY_LIMIT, requestTimeoutMs: REQUEST_TIMEOUT_MS },
  });
  url = await dcc.listen(0);
  initial = devices();
});

test.after.always(async () => {
  await dcc?.close();
  await pool?.close();
});

async function post(path: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/xml' }) {
  const res = await fetch(url + path, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}

/** Nothing accepted, nothing queued, no device touched; the service still answers. */
async function untouched(t: import('ava').ExecutionContext, what: string): Promise<void> {
  t.is(count('requests'), 0, `${what}: no request reached the audit log`);
  t.is(count('outbox'), 0, `${what}: nothing was queued for delivery`);
  t.is(devices(), initial, `${what}: no device changed`);
  t.is((await fetch(`${url}/admin/v1/health`)).status, 200, `${what}: the DCC still answers`);
}

function refused(t: import('ava').ExecutionContext, what: string, r: { status: number | null; text?: string; body?: string }): void {
  t.true(r.status !== null && r.status >= 400 && r.status < 500, `${what}: a 4xx, got ${r.status}`);
  t.true((r.text ?? r.body ?? '').trim().length > 5, `${what}: the answer says why`);
}

test.serial('the corpus is the protocol-level one: every named entry, none left out', (t) => {
  t.true(corpus.length >= 57, `${corpus.length} entries`);
  t.is(new Set(corpus.map((d) => d.name)).size, corpus.length);
});

for (const doc of corpus) {
  test.serial(`over HTTP, every DUIS URL refuses: ${doc.name}`, async (t) => {
    for (const path of PATHS) {
      const before = count('rejections');
      const r = await post(path, Buffer.isBuffer(doc.xml) ? doc.xml : Buffer.from(doc.xml));
      refused(t, `${path}`, r);
      if (r.status === 413) {
        t.true(Buffer.byteLength(doc.xml) > BODY_LIMIT, 'only oversize bodies are refused by the body limit');
        continue;
      }
      t.is(count('rejections'), before + 1, `${path}: logged as a rejection`);
      const row = lastRejection();
      t.is(row?.reason, r.text.trim(), `${path}: the rejections table holds the reason given`);
      t.is(row?.http_status, r.status);
      // The DCC reports the same error code the verifier gives at protocol level.
      t.true(r.text.startsWith(`${doc.code}:`), `${path}: ${r.text.slice(0, 120)}`);
    }
    await untouched(t, doc.name);
  });
}

test.serial('a refusal quoting what the sender wrote is kept short, in the reply and in the rejections table', async (t) => {
  const name = 'p'.repeat(200 * 1024);
  for (const [what, body] of [
    ['an unbound prefix', original.replace('<sr:Header>', `<${name}:X/><sr:Header>`)],
    ['a processing instruction', original.replace('<sr:Header>', `<?${name}?><sr:Header>`)],
  ] as const) {
    const before = count('rejections');
    const r = await post(PATHS[0], body);
    refused(t, what, r);
    t.true(r.text.length < 1100, `${what}: a ${r.text.length}-character reply`);
    t.regex(r.text, /\.\.\. \(\d+ characters\)\n$/, `${what}: says how much was left out`);
    t.is(count('rejections'), before + 1);
    t.is(lastRejection()?.reason, r.text.trim(), `${what}: the table holds the reason given`);
  }
  await untouched(t, 'long names');
});

test.serial('wrong content types are refused with 415 or 400, before the DCC reads the body', async (t) => {
  const cases: [string | null, string][] = [
    ['text/plain', original],
    ['application/json', '{"Request":1}'],
    ['application/json', original],
    ['application/x-www-form-urlencoded', 'a=1'],
    ['multipart/form-data; boundary=x', `--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n${original}\r\n--x--`],
    ['application/octet-stream', original],
    [null, original],
  ];
  for (const [type, body] of cases) {
    const r = await post(PATHS[1], body, type ? { 'content-type': type } : {});
    refused(t, `content type ${type}`, r);
    t.true([400, 415].includes(r.status), `${type}: ${r.status}`);
  }
  await untouched(t, 'content types');
});

test.serial('bodies beyond the body limit get 413, however they are framed', async (t) => {
  const padded = original.replace('</sr:Request>', `<!--${'A'.repeat(BODY_LIMIT)}--></sr:Request>`);
  refused(t, 'one byte over', await post(PATHS[0], Buffer.alloc(BODY_LIMIT + 1, 0x41)));
  refused(t, 'a signed request padded past the limit', await post(PATHS[0], padded));
  refused(t, '8 MB', await post(PATHS[1], Buffer.alloc(8 * 1024 * 1024, 0x3c)));
  const chunk = `4000\r\n${'a'.repeat(0x4000)}\r\n`;
  const chunked = await rawExchange(url, head(PATHS[1], { contentLength: null, extra: ['Transfer-Encoding: chunked'] }) + chunk.repeat(20) + '0\r\n\r\n');
  t.is(chunked.status, 413, 'chunked with no length given');
  const lying = await rawExchange(url, head(PATHS[1], { contentLength: 10 * 1024 * 1024 }) + 'a'.repeat(1000));
  t.is(lying.status, 413, 'a Content-Length over the limit is refused before the body arrives');
  await untouched(t, 'oversize');
});

test.serial('bad encodings are refused by the DCC with a reason', async (t) => {
  const bytes = Buffer.from(original);
  const at = original.indexOf('</sr:RequestID>');
  const splice = (insert: number[]) => Buffer.concat([bytes.subarray(0, at), Buffer.from(insert), bytes.subarray(at)]);
  const cases: [string, Buffer, Record<string, string>?][] = [
    ['overlong UTF-8 for "/"', splice([0xc0, 0xaf])],
    ['a lone UTF-16 surrogate in UTF-8', splice([0xed, 0xa0, 0x80])],
    ['a NUL byte', splice([0x00])],
    ['a truncated multi-byte sequence at the end', Buffer.concat([bytes, Buffer.from([0xe2, 0x82])])],
    ['UTF-32 with a BOM', Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), Buffer.from(original, 'utf16le')])],
    ['UTF-16 big-endian without a BOM', Buffer.from(original, 'utf16le').swap16()],
    ['EBCDIC-looking bytes', Buffer.from(bytes.map((b) => b ^ 0x80))],
    ['a charset parameter that disagrees with the bytes', Buffer.from(original, 'utf16le'), { 'content-type': 'application/xml; charset=utf-16' }],
  ];
  for (const [name, body, headers] of cases) {
    const before = count('rejections');
    const r = await post(PATHS[0], body, headers);
    refused(t, name, r);
    t.is(count('rejections'), before + 1, `${name}: logged as a rejection`);
  }
  // A content coding is refused before the body is read: a valid request labelled gzip once went through as XML.
  const gzip = (await import('node:zlib')).gzipSync(bytes);
  for (const [name, body, coding] of [
    ['gzip claimed, the valid request in plain bytes', bytes, 'gzip'],
    ['gzip for real', gzip, 'gzip'],
    ['deflate claimed', bytes, 'deflate'],
    ['two codings', bytes, 'identity, gzip'],
  ] as const) {
    const r = await post(PATHS[0], body, { 'content-type': 'application/xml', 'content-encoding': coding });
    t.is(r.status, 415, `${name}: ${r.text}`);
  }
  await untouched(t, 'encodings');
});

test.serial('truncated bodies: cut anywhere, or shorter than their Content-Length', async (t) => {
  for (const cut of [1, 10, 38, 100, original.indexOf('<sr:Body>'), original.indexOf('<ds:Signature'), original.length - 20, original.length - 1]) {
    refused(t, `cut at ${cut}`, await post(PATHS[0], original.slice(0, cut)));
  }
  // The sender promises more than it sends and stops: the DCC times the request out (408) and closes.
  const stalled = await rawExchange(url, head(PATHS[0], { contentLength: original.length }) + original.slice(0, 200));
  t.is(stalled.status, 408, 'a stalled body gets 408');
  // The sender half-closes before the promised length: nothing is processed, the connection ends cleanly.
  const c = new RawConnection(url);
  await c.write(head(PATHS[0], { contentLength: original.length }) + original.slice(0, 200));
  c.end();
  const ended = await c.closed;
  t.true(ended.status === null || (ended.status >= 400 && ended.status < 500), `half-closed: ${ended.status}`);
  await untouched(t, 'truncated');
});

test.serial('framing attacks: smuggling headers, duplicate lengths, header floods, wrong methods', async (t) => {
  const cases: [string, string][] = [
    ['Content-Length and Transfer-Encoding together', head(PATHS[0], { contentLength: 4, extra: ['Transfer-Encoding: chunked'] }) + '0\r\n\r\n'],
    ['two different Content-Lengths', head(PATHS[0], { contentLength: 4, extra: ['Content-Length: 5'] }) + '<a/>'],
    ['a negative Content-Length', head(PATHS[0], { contentLength: -1 }) + '<a/>'],
    ['a bad chunk size', head(PATHS[0], { contentLength: null, extra: ['Transfer-Encoding: chunked'] }) + 'zz\r\nabc\r\n0\r\n\r\n'],
    ['an obfuscated Transfer-Encoding', head(PATHS[0], { contentLength: 4, extra: ['Transfer-Encoding: xchunked'] }) + '<a/>'],
    ['3,000 headers', head(PATHS[0], { contentLength: 4, extra: Array.from({ length: 3000 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}`) }) + '<a/>'],
    ['a 100 KB header', head(PATHS[0], { contentLength: 4, extra: [`X-Big: ${'v'.repeat(100 * 1024)}`] }) + '<a/>'],
    ['an 8 KB URL', `POST ${PATHS[0]}?${'q'.repeat(8 * 1024)} HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: 4\r\nConnection: close\r\n\r\n<a/>`],
    ['GET on a DUIS URL', `GET ${PATHS[0]} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
    ['PUT on a DUIS URL', head(PATHS[0], { contentLength: original.length }).replace('POST', 'PUT') + original],
    ['not HTTP at all', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello to a plain port\r\n\r\n'],
  ];
  for (const [name, request] of cases) {
    const a = await rawExchange(url, request);
    t.true(a.status !== null && a.status >= 400 && a.status < 500, `${name}: a 4xx, got ${a.status}`);
  }
  await untouched(t, 'framing');
});

test.serial('slowloris: trickled bodies get 408 and lose the connection, and never block other senders', async (t) => {
  const slow = Array.from({ length: 5 }, () => new RawConnection(url));
  for (const s of slow) await s.write(head(PATHS[0], { contentLength: original.length }));
  const trickle = setInterval(() => {
    for (const s of slow) void s.write(original[0]!).catch(() => undefined);
  }, 100);
  try {
    // Other senders are served while the slow ones trickle.
    const r = await post(PATHS[0], original.slice(0, 50));
    t.is(r.status, 400, 'a request from another sender is answered meanwhile');
    const answers = await Promise.all(slow.map((s) => s.closed));
    for (const a of answers) t.is(a.status, 408, 'the trickling sender is timed out and disconnected');
  } finally {
    clearInterval(trickle);
    for (const s of slow) s.destroy();
  }
  await untouched(t, 'slowloris');
});

test.serial('control: the same DCC accepts the untouched request and the Signed Pre-Command switches the meter', async (t) => {
  const transform = await post(PATHS[0], original);
  t.is(transform.status, 200, transform.text);
  t.regex(transform.text, /<sr:ResponseCode>I0<\/sr:ResponseCode>/);
  const preCommand = /<sr:GBCSPayload>([^<]+)<\/sr:GBCSPayload>/.exec(transform.text)?.[1];
  const d = decodeGeneralSigning(Buffer.from(preCommand ?? '', 'base64'));
  if (!d.ok) return t.fail(d.error.toString());
  const cv4 = parseRequest(original);
  if (!cv4.ok) return t.fail(cv4.error.toString());
  const cv5: DuisRequest = {
    ...cv4.value,
    header: { ...cv4.value.header, commandVariant: 5 },
    body: { kind: 'SignedPreCommand', gbcsPayload: encodeGeneralSigning(signApdu(d.value, keystore.signingKey(SUPPLIER, 'digitalSignature').privateKey!)) },
  };
  const send = await post(PATHS[1], signRequest(cv5, supplierSigner));
  t.regex(send.text, /<sr:ResponseCode>I99<\/sr:ResponseCode>/);
  await dcc.service.settled();
  t.is((pool.snapshot(ZAZ1.esme) as { paymentMode: string }).paymentMode, 'credit');
  t.is(count('requests'), 2, 'exactly the two accepted requests are in the audit log');
});
