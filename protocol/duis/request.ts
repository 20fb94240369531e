/**
 * sr:Request: the typed model, its reader (from a parsed tree or text) and its builder (to canonical XML).
 *
 * Every request's Header is modelled. Bodies are modelled in full for SRV 1.6 UpdatePaymentMode and for the
 * Signed Pre-Command of Command Variants 5-7; every other body is kept as an opaque subtree (checked to be one
 * of the bodies DUIS defines) that round-trips and signs unchanged.
 */
import { decodeBase64, encodeBase64 } from './base64.ts';
import { type Checked, checked, refuse } from './errors.ts';
import { ChildReader, emptyElement, noAttributes, simpleText } from './model-reader.ts';
import { NS } from './namespaces.ts';
import { formatRequestId, parseRequestId, type RequestId } from './request-id.ts';
import {
  type CommandVariant,
  isCommandVariant,
  isRequestBodyElement,
  isServiceReference,
  isServiceReferenceVariant,
  type RequestBodyElement,
  type ServiceReference,
  type ServiceReferenceVariant,
  serviceReferenceOf,
} from './service-references.ts';
import { collapse, dateTimeInstant, isDateTime, quoted, readBoolean, readDateTime, readDecimal, readInt } from './simple-types.ts';
import { adopt, serializeDocument, srElement, srRoot, srText } from './xml-build.ts';
import { parseXmlOrThrow, type XmlParseOptions } from './xml-parser.ts';
import { attributeValue, qualifiedName, type XmlDocument, type XmlElement } from './xml-tree.ts';

export interface RequestHeader {
  requestId: RequestId;
  firstInSequence?: boolean;
  precedingRequestId?: RequestId;
  commandVariant: CommandVariant;
  serviceReference: ServiceReference;
  serviceReferenceVariant: ServiceReferenceVariant;
}

export type PaymentMode =
  | { mode: 'Credit' }
  | { mode: 'Prepayment'; suspendDebtDisabled: boolean; suspendDebtEmergency: boolean; disablementThreshold: number };

/** SRV 1.6. Without executionDateTime the change is immediate; CANCEL_EXECUTION_DATE_TIME cancels a pending one. */
export interface UpdatePaymentModeBody {
  kind: 'UpdatePaymentMode';
  executionDateTime?: string;
  paymentMode: PaymentMode;
}

/** Command Variants 5-7: the Pre-Command the DCC returned, now carrying the User's GBCS signature. */
export interface SignedPreCommandBody {
  kind: 'SignedPreCommand';
  executionDateTime?: string;
  /** The signed General-Signing APDU (xs:base64Binary on the wire). */
  gbcsPayload: Uint8Array;
}

/** Any other body, kept as the element DUIS defines for it. */
export interface OpaqueRequestBody {
  kind: 'opaque';
  name: RequestBodyElement;
  element: XmlElement;
}

export type RequestBody = UpdatePaymentModeBody | SignedPreCommandBody | OpaqueRequestBody;

export interface DuisRequest {
  /** The root's schemaVersion attribute, "5.4" for this schema. */
  schemaVersion: string;
  header: RequestHeader;
  body: RequestBody;
}

/** The ExecutionDateTime that cancels a pending future-dated SRV 1.6 (DUIS writes it with two fraction digits). */
export const CANCEL_EXECUTION_DATE_TIME = '3000-12-31T00:00:00.00Z';
const CANCEL_INSTANT = Date.UTC(3000, 11, 31);

export type Execution = 'immediate' | 'future-dated' | 'cancel';

/** How a future-datable body executes; the cancel sentinel is recognised by instant, not by spelling. */
export function executionOf(body: { executionDateTime?: string }): Execution {
  if (body.executionDateTime === undefined) return 'immediate';
  return dateTimeInstant(body.executionDateTime) === CANCEL_INSTANT ? 'cancel' : 'future-dated';
}

export type ParseRequestOptions = XmlParseOptions;

/**
 * Reads a request from text (hardened parse; comments are dropped unless options.comments is 'refuse') or from
 * an already parsed document. The enveloped signature, if any, is not checked here: see verifyRequest.
 */
export function parseRequest(input: string | Uint8Array | XmlDocument, options: ParseRequestOptions = {}): Checked<DuisRequest> {
  return checked(() => readRequest(toDocument(input, options)));
}

export function toDocument(input: string | Uint8Array | XmlDocument, options: XmlParseOptions): XmlDocument {
  return typeof input === 'string' || input instanceof Uint8Array ? parseXmlOrThrow(input, { comments: 'drop', ...options }) : input;
}

/** Reads the request model from a parsed document, throwing DuisFailure ('structure' or 'value'). */
export function readRequest(doc: XmlDocument): DuisRequest {
  return readEnvelope(doc, 'Request', readHeader, readBody);
}

/** A Request's or Response's root: its schemaVersion, then Header and Body (and the signature, if any). */
export function readEnvelope<H, B>(doc: XmlDocument, rootName: 'Request' | 'Response', header: (el: XmlElement) => H, body: (el: XmlElement) => B): { schemaVersion: string; header: H; body: B } {
  const root = doc.root;
  if (root.uri !== NS.sr || root.local !== rootName) {
    refuse('structure', `the root must be ${rootName} in ${NS.sr}, found ${qualifiedName(root)} in ${quoted(root.uri, 100)}`, root);
  }
  const schemaVersion = readSchemaVersion(root);
  const top = new ChildReader(root);
  const h = header(top.required('Header'));
  const b = body(top.required('Body'));
  top.end(true);
  return { schemaVersion, header: h, body: b };
}

export function readSchemaVersion(root: XmlElement): string {
  const version = attributeValue(root, 'schemaVersion');
  if (version === undefined) refuse('structure', 'the schemaVersion attribute is required', root);
  for (const a of root.attributes) {
    // Schema location hints are allowed by every XSD validator; nothing else is.
    const hint = a.uri === NS.xsi && (a.local === 'schemaLocation' || a.local === 'noNamespaceSchemaLocation');
    if (!hint && (a.uri !== '' || a.local !== 'schemaVersion')) refuse('structure', `unexpected attribute ${qualifiedName(a)}`, root);
  }
  const decimal = readDecimal(version, `/${root.local}/@schemaVersion`);
  // The DCC answers in the version the request names: one its responses cannot carry is refused here.
  if (decimal.startsWith('-')) refuse('value', `schemaVersion ${quoted(decimal)} is negative`, `/${root.local}/@schemaVersion`);
  return decimal;
}

function readHeader(el: XmlElement): RequestHeader {
  noAttributes(el);
  const r = new ChildReader(el);
  const requestIdEl = r.required('RequestID');
  const requestId = parseRequestId(simpleText(requestIdEl), requestIdEl);
  const first = r.optional('FirstInSequence');
  const preceding = r.optional('PrecedingServiceRequestID');
  const cvEl = r.required('CommandVariant');
  const cvText = collapse(simpleText(cvEl));
  const cv = /^\+?0*[1-9]$/.test(cvText) ? Number(cvText) : NaN;
  if (!isCommandVariant(cv)) refuse('value', `CommandVariant ${quoted(cvText)} is not 1..9`, cvEl);
  const { serviceReference, serviceReferenceVariant } = readServiceReferences(r);
  r.end();
  const header: RequestHeader = { requestId, commandVariant: cv, serviceReference, serviceReferenceVariant };
  if (first) header.firstInSequence = readBoolean(simpleText(first), first);
  if (preceding) header.precedingRequestId = parseRequestId(simpleText(preceding), preceding);
  return header;
}

/** The ServiceReference and ServiceReferenceVariant pair, next in `r`: a request's header and a response's message. */
export function readServiceReferences(r: ChildReader): { serviceReference: ServiceReference; serviceReferenceVariant: ServiceReferenceVariant } {
  const srEl = r.required('ServiceReference');
  const sr = simpleText(srEl);
  if (!isServiceReference(sr)) refuse('value', `ServiceReference ${quoted(sr)} is not one DUIS defines`, srEl);
  const srvEl = r.required('ServiceReferenceVariant');
  const srv = simpleText(srvEl);
  if (!isServiceReferenceVariant(srv)) refuse('value', `ServiceReferenceVariant ${quoted(srv)} is not one DUIS defines`, srvEl);
  const mismatch = referencesDisagree(sr, srv);
  if (mismatch) refuse('value', mismatch, srEl);
  return { serviceReference: sr, serviceReferenceVariant: srv };
}

/** Every variant belongs to one Service Reference (its first two numbers): a pair that disagrees says two things. */
function referencesDisagree(sr: ServiceReference, srv: ServiceReferenceVariant): string | null {
  const of = serviceReferenceOf(srv);
  return of === sr ? null : `ServiceReference ${sr} does not go with ServiceReferenceVariant ${srv} (of ${of})`;
}

/** The same check for a model about to be written out (a request's header, a response's message). */
export function checkServiceReferences(m: { serviceReference: string; serviceReferenceVariant: string }): void {
  if (!isServiceReference(m.serviceReference)) refuse('value', `ServiceReference ${m.serviceReference} is not one DUIS defines`);
  if (!isServiceReferenceVariant(m.serviceReferenceVariant)) refuse('value', `ServiceReferenceVariant ${m.serviceReferenceVariant} is not one DUIS defines`);
  const mismatch = referencesDisagree(m.serviceReference, m.serviceReferenceVariant);
  if (mismatch) refuse('value', mismatch);
}

function readBody(el: XmlElement): RequestBody {
  noAttributes(el);
  const r = new ChildReader(el);
  const content = r.any('a Service Request body');
  r.end();
  switch (content.local) {
    case 'UpdatePaymentMode':
      return readUpdatePaymentMode(content);
    case 'SignedPreCommand':
      return readSignedPreCommand(content);
    default:
      if (!isRequestBodyElement(content.local)) refuse('structure', `${content.local} is not a Service Request body DUIS defines`, content);
      return { kind: 'opaque', name: content.local, element: content };
  }
}

function readExecution(r: ChildReader): { executionDateTime?: string } {
  const el = r.optional('ExecutionDateTime');
  return el ? { executionDateTime: readDateTime(simpleText(el), el) } : {};
}

function readUpdatePaymentMode(el: XmlElement): UpdatePaymentModeBody {
  noAttributes(el);
  const r = new ChildReader(el);
  const execution = readExecution(r);
  let paymentMode: PaymentMode;
  const credit = r.optional('Credit');
  if (credit) {
    emptyElement(credit);
    paymentMode = { mode: 'Credit' };
  } else {
    const pre = r.required('Prepayment');
    noAttributes(pre);
    const p = new ChildReader(pre);
    const disabled = p.required('SuspendDebtDisabled');
    const emergency = p.required('SuspendDebtEmergency');
    const threshold = p.required('DisablementThreshold');
    p.end();
    paymentMode = {
      mode: 'Prepayment',
      suspendDebtDisabled: readBoolean(simpleText(disabled), disabled),
      suspendDebtEmergency: readBoolean(simpleText(emergency), emergency),
      disablementThreshold: readInt(simpleText(threshold), threshold),
    };
  }
  r.end();
  return { kind: 'UpdatePaymentMode', ...execution, paymentMode };
}

function readSignedPreCommand(el: XmlElement): SignedPreCommandBody {
  noAttributes(el);
  const r = new ChildReader(el);
  const execution = readExecution(r);
  const payload = r.required('GBCSPayload');
  r.end();
  const bytes = decodeBase64(simpleText(payload), 'GBCSPayload', payload);
  if (bytes.length === 0) refuse('value', 'GBCSPayload is empty', payload);
  return { kind: 'SignedPreCommand', ...execution, gbcsPayload: bytes };
}

/** The request as canonical XML (declaration, no whitespace between elements, no signature). */
export function buildRequest(request: DuisRequest): string {
  return serializeDocument(requestTree(request));
}

/** The request as a tree, ready for signTree. Throws DuisFailure ('value') on a model DUIS cannot carry. */
export function requestTree(request: DuisRequest): XmlElement {
  const h = request.header;
  const header = [srText('RequestID', formatRequestId(h.requestId))];
  if (h.firstInSequence !== undefined) header.push(srText('FirstInSequence', String(h.firstInSequence)));
  if (h.precedingRequestId) header.push(srText('PrecedingServiceRequestID', formatRequestId(h.precedingRequestId)));
  if (!isCommandVariant(h.commandVariant)) refuse('value', `CommandVariant ${h.commandVariant} is not 1..9`);
  checkServiceReferences(h);
  header.push(
    srText('CommandVariant', String(h.commandVariant)),
    srText('ServiceReference', h.serviceReference),
    srText('ServiceReferenceVariant', h.serviceReferenceVariant),
  );
  const body = srElement('Body');
  const content = bodyElement(request.body, body);
  body.children.push(content);
  content.parent = body;
  if (!/^[0-9]+(\.[0-9]+)?$/.test(request.schemaVersion)) refuse('value', `schemaVersion ${request.schemaVersion} is not a decimal`);
  return srRoot('Request', request.schemaVersion, [srElement('Header', header), body]);
}

function bodyElement(body: RequestBody, parent: XmlElement): XmlElement {
  switch (body.kind) {
    case 'UpdatePaymentMode': {
      const children = executionElements(body.executionDateTime);
      const m = body.paymentMode;
      if (m.mode === 'Credit') children.push(srElement('Credit'));
      else {
        if (!Number.isInteger(m.disablementThreshold) || m.disablementThreshold < -(2 ** 31) || m.disablementThreshold >= 2 ** 31) {
          refuse('value', `DisablementThreshold ${m.disablementThreshold} is not an xs:int`);
        }
        children.push(
          srElement('Prepayment', [
            srText('SuspendDebtDisabled', String(m.suspendDebtDisabled)),
            srText('SuspendDebtEmergency', String(m.suspendDebtEmergency)),
            srText('DisablementThreshold', String(m.disablementThreshold)),
          ]),
        );
      }
      return srElement('UpdatePaymentMode', children);
    }
    case 'SignedPreCommand': {
      if (body.gbcsPayload.length === 0) refuse('value', 'GBCSPayload is empty');
      return srElement('SignedPreCommand', [...executionElements(body.executionDateTime), srText('GBCSPayload', encodeBase64(body.gbcsPayload))]);
    }
    case 'opaque':
      if (body.element.uri !== NS.sr || body.element.local !== body.name || !isRequestBodyElement(body.name)) {
        refuse('value', `opaque body ${qualifiedName(body.element)} is not the ${body.name} element of ${NS.sr}`);
      }
      return adopt(body.element, parent);
  }
}

function executionElements(executionDateTime: string | undefined): XmlElement[] {
  if (executionDateTime === undefined) return [];
  if (!isDateTime(executionDateTime)) refuse('value', `ExecutionDateTime ${quoted(executionDateTime)} is not an xs:dateTime`);
  return [srText('ExecutionDateTime', executionDateTime)];
}

