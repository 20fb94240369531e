/**
 * The DCC's HTTP surface: the DCC Boxed DUIS paths (application/xml in, DCC-signed application/xml out) and the
 * JSON admin API under /admin/v1 for what the DCC does out of band. Documented in the README.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';
import { type CertificateProduct, CERTIFICATE_PRODUCTS } from '../protocol/smki/certificate-products.ts';
import { DuisFailure } from '../protocol/duis/errors.ts';
import { formatRequestId, parseRequestId } from '../protocol/duis/request-id.ts';
import { derToPem } from '../protocol/smki/certificate.ts';
import { type Eui, parseEui } from '../protocol/smki/eui.ts';
import { IssuingPolicyError } from '../protocol/smki/issuing-policy.ts';
import { SmkiServiceError } from '../protocol/smki/smki-service.ts';
import { RevocationError } from '../protocol/smki/revocation-register.ts';
import { USER_ROLES } from '../protocol/smki/roles.ts';
import { AdtError } from './anomaly.ts';
import type { UrlKind } from './access/checks.ts';
import { clockRangeProblem } from './clock.ts';
import type { DccAdmin } from './admin.ts';
import { BadInput, describeZodError, euiSchema, NotFound } from './schemas.ts';
import type { DccService } from './service.ts';

export interface HttpOptions {
  /** Request body limit for DUIS messages; larger bodies get 413 before any parsing. */
  bodyLimit?: number;
  /** Request body limit for the admin API's JSON (an instruction may name every meter of a failed supplier). */
  adminBodyLimit?: number;
  /**
   * DUIS requests in flight at once, counted from their headers to their answer (so bodies still arriving count
   * too); beyond it the DCC answers 503 with Retry-After (overload, retryable) without reading the body.
   */
  maxConcurrent?: number;
  /** A request must arrive in full within this time; a stalled or trickling sender gets 408 and loses the connection. */
  requestTimeoutMs?: number;
  logger?: boolean;
}

const DUIS_PATHS: Record<string, UrlKind> = {
  '/api/v1/serviceT': 'transform',
  '/api/v1/serviceS': 'send',
  '/api/v1/serviceD': 'non-device',
};

function parseBody<T extends z.ZodType>(schema: T, body: unknown, root = 'body'): z.output<T> {
  const r = schema.safeParse(body);
  if (!r.success) throw new BadInput(describeZodError(r.error, root));
  return r.data;
}

function pathEui(text: string): Eui {
  try {
    return parseEui(text);
  } catch (e) {
    throw new BadInput((e as Error).message);
  }
}

/** The most rows one page of the audit log or the outbox holds. */
const MAX_PAGE = 10_000;

/**
 * Audit and outbox filters. A parameter given empty, more than once or misspelt is refused rather than read as "no
 * filter" (a script with an unset variable would otherwise get everything) or handed to SQLite as a list.
 */
const filterText = z.string({ error: (i) => (Array.isArray(i.input) ? 'given more than once' : undefined) }).min(1, 'empty');
/** A RequestID as the audit log keeps it (EUIs in upper case), so a lower-case one finds its request. */
const requestIdFilter = filterText.transform((text, ctx) => {
  try {
    return formatRequestId(parseRequestId(text));
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: e instanceof DuisFailure ? e.error.message : (e as Error).message });
    return z.NEVER;
  }
});
/** A page of a long log: the rows after `afterId` (an id from the last page), at most `limit` of them. */
const page = {
  afterId: filterText.regex(/^\d{1,15}$/, 'a row id').transform(Number).optional(),
  limit: filterText
    .regex(/^\d{1,5}$/, 'a number of rows')
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_PAGE, `from 1 to ${MAX_PAGE}`)
    .optional(),
};
const requestsQuery = z.strictObject({ requestId: requestIdFilter.optional(), user: filterText.pipe(euiSchema).optional(), ...page });
const deliveriesQuery = z.strictObject({ recipient: filterText.pipe(euiSchema).optional(), ...page });
/** Devices are read in EUI order, a page being those after the last EUI seen. */
const devicesQuery = z.strictObject({ after: filterText.pipe(euiSchema).optional(), limit: page.limit });

/** What a party may be issued; Device certificates are issued when the DCC provisions a device, never on request. */
const PARTY_PRODUCTS = CERTIFICATE_PRODUCTS.filter((p) => !p.startsWith('device-'));

const certificateRequest = z.strictObject({
  product: z.enum(PARTY_PRODUCTS),
  /** The User Role the party asks in; default its first role. */
  role: z.enum(USER_ROLES).optional(),
});

const revocationRequest = z.strictObject({
  serial: z.string().regex(/^\d+$/, 'a decimal serial'),
  issuer: z.string().optional(),
  /** PMA-ordered delay: the revocation takes effect at this time. */
  effectiveAt: z.iso.datetime({ offset: true }).optional(),
  orderedBy: z.string().optional(),
});

/** Ending an Authority instruction: now (no body, or `{}`), or at a later time. */
const solrEndRequest = z.strictObject({ endsAt: z.iso.datetime({ offset: true }).optional() });

/** Where the admin API may put the DCC's clock: a GSME's ZigBee UTCTime starts in 2000, and well inside its end. */

/** One of the two: a union would report only "Invalid input" for a misspelt key or for both given. */
const clockRequest = z
  .strictObject({ set: z.iso.datetime({ offset: true }).optional(), advanceMs: z.number().int().min(0).optional() })
  .refine((b) => (b.set === undefined) !== (b.advanceMs === undefined), 'give one of set (an ISO date-time) and advanceMs');

export function createHttpServer(dcc: DccService, admin: DccAdmin, options: HttpOptions = {}): FastifyInstance {
  // Fastify's default requestTimeout (0) let a sender trickle a body for ever. Node 20 expires a request whose
  // body is still arriving by headersTimeout (measured), so both are set; Node checks them on an interval, which
  // must be short for a short timeout to bite.
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 256 * 1024,
    requestTimeout,
    http: { headersTimeout: requestTimeout, connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(requestTimeout / 4))) },
  });
  const maxConcurrent = options.maxConcurrent ?? 256;
  let active = 0;
  const limits = { duis: options.bodyLimit ?? 256 * 1024, admin: options.adminBodyLimit ?? 64 * 1024 * 1024 };
  // The admin API's bodies are the operator's, not Users': a SoLR instruction naming 240,000 meters is 5 MB of JSON.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/admin/')) route.bodyLimit ??= limits.admin;
  });

  app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // Admission at the headers: the handler itself runs synchronously, so counting only around it never saw more
  // than one request and the bound could not bite; requests whose bodies are still arriving hold memory too.
  app.addHook('onRequest', (req, reply, done) => {
    if (req.method !== 'POST' || !(req.routeOptions.url! in DUIS_PATHS)) return done();
    // The body is read as it comes: a body declared gzip (or any coding) must not be taken for plain XML.
    const coding = req.headers['content-encoding'];
    if (coding !== undefined && coding.trim().toLowerCase() !== 'identity') {
      void reply.code(415).header('connection', 'close').type('text/plain').send(`DUIS requests are not content-encoded (got Content-Encoding: ${coding})\n`);
      return;
    }
    if (active >= maxConcurrent) {
      void reply.code(503).header('retry-after', '1').header('connection', 'close').type('text/plain').send('the DCC is at capacity: retry later\n');
      return;
    }
    active++;
    reply.raw.once('close', () => active--);
    done();
  });

  for (const [path, kind] of Object.entries(DUIS_PATHS)) {
    app.post(path, async (req, reply) => {
      if (!Buffer.isBuffer(req.body)) return reply.code(415).type('text/plain').send('DUIS requests are application/xml\n');
      // The DCC's work is synchronous: without this turn of the event loop each request ran to its answer as
      // soon as it was read, the queue stayed in the sockets, unbounded and unseen (latency grew without limit,
      // never a 503). Yielding first lets every request that has arrived be admitted or refused at its headers.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const r = await dcc.handle(kind, req.body);
      return reply.code(r.status).type(r.contentType).send(r.body);
    });
  }

  // The admin API reads JSON; an XML or text body would reach its schemas as a Buffer or a string (400 listing
  // a Buffer's methods, or "expected object, received string").
  app.addHook('preValidation', (req, reply, done) => {
    if (req.method !== 'POST' || !req.url.startsWith('/admin/') || req.body === undefined) return done();
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'application/json') return done();
    void reply.code(415).send({ error: `the admin API takes application/json, not ${type || 'a body without a Content-Type'}` });
  });

  const guard = async <T>(reply: FastifyReply, run: () => T | Promise<T>, status = 200): Promise<FastifyReply> => {
    try {
      // An admin change joins the DCC's group commit when requests are being taken: answer once it is durable,
      // all of it (a registration writes, awaits provisioning, then writes again).
      const mark = dcc.commitMark();
      const result = await run();
      await dcc.durableSince(mark);
      return reply.code(status).send(result);
    } catch (e) {
      // A revocation of a certificate already revoked, or dated in the past, is the operator's to correct.
      if (e instanceof BadInput || e instanceof z.ZodError || e instanceof AdtError || e instanceof SmkiServiceError || e instanceof RevocationError) {
        return reply.code(400).send({ error: e instanceof z.ZodError ? describeZodError(e) : e.message });
      }
      if (e instanceof IssuingPolicyError) return reply.code(403).send({ error: e.message, requirement: e.requirement });
      if (e instanceof NotFound) return reply.code(404).send({ error: e.message });
      throw e;
    }
  };

  app.get('/admin/v1/health', async () => ({ status: 'ok', time: dcc.now().toISOString(), pendingDeliveries: dcc.outbox.pending() }));

  app.get('/admin/v1/dcc', async () => admin.identity());

  app.get('/admin/v1/clock', async () => ({ now: dcc.now().toISOString() }));
  app.post('/admin/v1/clock', (req, reply) =>
    guard(reply, async () => {
      admin.adjustableClock(); // refused before the body is read
      const body = parseBody(clockRequest, req.body);
      const to = body.set !== undefined ? Date.parse(body.set) : dcc.now().getTime() + body.advanceMs!;
      const outOfRange = clockRangeProblem(to);
      if (outOfRange) throw new BadInput(`${body.set !== undefined ? 'set' : 'advanceMs'}: ${outOfRange}`);
      const back = body.set !== undefined ? admin.clockBackProblem(to) : null;
      if (back) throw new BadInput(`set: ${back}`);
      await admin.moveClock((c) => (body.set !== undefined ? c.set(new Date(to)) : c.advance(body.advanceMs!)));
      return { now: dcc.now().toISOString() };
    }),
  );

  app.get('/admin/v1/parties', async () => dcc.registry.parties());
  app.post('/admin/v1/parties', (req, reply) => guard(reply, () => dcc.putParty(req.body as never), 201));
  app.get<{ Params: { eui: string } }>('/admin/v1/parties/:eui', (req, reply) =>
    guard(reply, () => {
      const party = dcc.registry.party(pathEui(req.params.eui));
      if (!party) throw new NotFound(`no party ${req.params.eui}`);
      return { ...party, certificates: admin.certificatesOf(party.eui), officers: dcc.anomaly.officers(party.eui), adtFiles: dcc.anomaly.activeFiles(party.eui) };
    }),
  );
  app.post<{ Params: { eui: string } }>('/admin/v1/parties/:eui/certificates', (req, reply) =>
    guard(
      reply,
      async () => {
        const eui = pathEui(req.params.eui);
        const body = parseBody(certificateRequest, req.body);
        const issued = await admin.issuePartyCertificate(eui, body.product as CertificateProduct, body.role);
        return {
          name: issued.entry.name,
          serial: issued.certificate.serial,
          issuer: issued.certificate.issuer,
          certificate: derToPem(issued.certificate.der),
          privateKey: issued.privateKey?.export({ type: 'pkcs8', format: 'pem' }) ?? null,
        };
      },
      201,
    ),
  );
  app.post<{ Params: { eui: string } }>('/admin/v1/parties/:eui/officers', (req, reply) =>
    guard(
      reply,
      () => {
        const eui = pathEui(req.params.eui);
        if (!dcc.registry.party(eui)) throw new NotFound(`no party ${eui}`);
        return admin.addOfficer(eui, req.body);
      },
      201,
    ),
  );
  app.post<{ Params: { eui: string } }>('/admin/v1/parties/:eui/adt', (req, reply) =>
    guard(
      reply,
      () => {
        const eui = pathEui(req.params.eui);
        const party = dcc.registry.party(eui);
        if (!party) throw new NotFound(`no party ${eui}`);
        return admin.submitAdt(party, req.body);
      },
      201,
    ),
  );

  app.get('/admin/v1/devices', (req, reply) => guard(reply, () => dcc.registry.devices(parseBody(devicesQuery, req.query, 'query'))));
  app.post('/admin/v1/devices', (req, reply) => guard(reply, () => admin.registerDevice(req.body), 201));
  app.get<{ Params: { eui: string } }>('/admin/v1/devices/:eui', (req, reply) =>
    guard(reply, () => {
      const eui = pathEui(req.params.eui);
      const record = dcc.registry.device(eui);
      if (!record) throw new NotFound(`no device ${eui}`);
      const state = dcc.options.devices.state(eui);
      return { ...record, hosted: state !== undefined, ...(state === undefined ? {} : { state }), ...(isObject(state) && 'paymentMode' in state ? { paymentMode: state.paymentMode } : {}) };
    }),
  );

  app.get('/admin/v1/solr-events', async () => dcc.solr.all());
  app.post('/admin/v1/solr-events', (req, reply) => guard(reply, () => admin.instructSolr(req.body), 201));
  app.post<{ Params: { id: string } }>('/admin/v1/solr-events/:id/end', (req, reply) =>
    guard(reply, () => {
      if (!/^[1-9]\d{0,15}$/.test(req.params.id)) throw new BadInput(`id: ${JSON.stringify(req.params.id.slice(0, 20))} is not an event id (a positive integer)`);
      const body = parseBody(solrEndRequest, req.body ?? {});
      const id = Number(req.params.id);
      const event = dcc.solr.get(id);
      if (!event) throw new NotFound(`no SoLR event ${id}`);
      const now = dcc.now();
      const at = body.endsAt === undefined ? now : new Date(body.endsAt);
      if (at < now) throw new BadInput(`endsAt: ${at.toISOString()} has passed (the DCC's time is ${now.toISOString()}); an instruction ends now or later`);
      if (event.endsAt && event.endsAt <= at) throw new BadInput(`endsAt: event ${id} already ends at ${event.endsAt.toISOString()}; an end can only be brought forward`);
      return admin.endSolr(id, at);
    }),
  );

  app.post('/admin/v1/revocations', (req, reply) =>
    guard(
      reply,
      () => {
        const body = parseBody(revocationRequest, req.body);
        return admin.revoke(body.serial, body.issuer, body.effectiveAt ? new Date(body.effectiveAt) : undefined, body.orderedBy);
      },
      201,
    ),
  );
  app.get('/admin/v1/crl', async (_req, reply) => reply.type('application/pkix-crl').send(Buffer.from(await admin.crl())));

  app.get('/admin/v1/requests', (req, reply) => guard(reply, () => dcc.requests(parseBody(requestsQuery, req.query, 'query'))));
  app.get('/admin/v1/deliveries', (req, reply) => guard(reply, () => admin.deliveries(parseBody(deliveriesQuery, req.query, 'query'))));

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = error.statusCode ?? 500;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const onAdmin = req.url.startsWith('/admin/');
      return void reply.code(413).send({ error: `the request body is larger than this DCC takes on ${onAdmin ? 'the admin API' : 'its DUIS paths'} (${onAdmin ? limits.admin : limits.duis} octets)` });
    }
    void reply.code(status).send({ error: status >= 500 ? `internal error: ${error.message}` : error.message });
  });

  return app;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
