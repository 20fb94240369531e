/**
 * sr:Response: what the DCC returns synchronously and posts asynchronously (responses, device alerts, DCC
 * alerts). Modelled in full: the Header, ResponseMessage carrying a PreCommand or a GBCSPayload,
 * DeviceAlertMessage, and DCCAlertMessage with the AD1 QuarantinedRequest. Other ResponseMessage contents, other
 * DCC alerts and SMETS1ResponseMessage are kept as opaque subtrees.
 */
import { decodeBase64, encodeBase64 } from './base64.ts';
import { type Checked, checked, refuse } from './errors.ts';
import { ChildReader, noAttributes, simpleText } from './model-reader.ts';
import { NS } from './namespaces.ts';
import { checkServiceReferences, readEnvelope, readServiceReferences, toDocument } from './request.ts';
import { formatRequestId, formatResponseId, parseRequestId, parseResponseId, type RequestId, type ResponseId } from './request-id.ts';
import { type DccAlertCode, isDccAlertCode, isResponseCode, type ResponseCode } from './response-codes.ts';
import type { ServiceReference, ServiceReferenceVariant } from './service-references.ts';
import { isDateTime, quoted, readDateTime, readHexBinary, readInteger, readUnsignedInt } from './simple-types.ts';
import { escapeText } from './canonical.ts';
import { adopt, serializeDocument, srElement, srRoot, srText } from './xml-build.ts';
import type { XmlParseOptions } from './xml-parser.ts';
import { qualifiedName, type XmlDocument, type XmlElement } from './xml-tree.ts';

export interface ResponseHeader {
  requestId?: RequestId;
  responseId?: ResponseId;
  responseCode: ResponseCode;
  /** xs:dateTime as written. */
  responseDateTime: string;
}

export type ResponseContent =
  | { kind: 'PreCommand'; gbcsVersion: string; gbcsPayload: Uint8Array }
  | { kind: 'GBCSPayload'; gbcsPayload: Uint8Array }
  | { kind: 'opaque'; name: ResponseMessageElement; element: XmlElement };

export interface ResponseMessageBody {
  kind: 'ResponseMessage';
  serviceReference: ServiceReference;
  serviceReferenceVariant: ServiceReferenceVariant;
  /** Absent for responses that carry nothing but their code (e.g. an I99 acknowledgement). */
  content?: ResponseContent;
}

export interface DeviceAlertMessageBody {
  kind: 'DeviceAlertMessage';
  /** xs:hexBinary, upper-case ("8F66"). */
  alertCode: string;
  throttledAlertSequenceId?: number;
  throttledAlertCount?: number;
  gbcsPayload: Uint8Array;
}

export type QuarantineBreach = 'ADUserThresholdBreach' | 'ADDCCThresholdBreach' | 'ADAttributeLimitsBreach';
const QUARANTINE_BREACHES: readonly string[] = ['ADUserThresholdBreach', 'ADDCCThresholdBreach', 'ADAttributeLimitsBreach'];

export type DccAlert =
  | { kind: 'QuarantinedRequest'; breach: QuarantineBreach; requestId: RequestId; quarantineEventRef: bigint }
  | { kind: 'opaque'; name: DccAlertElement; element: XmlElement };

export interface DccAlertMessageBody {
  kind: 'DCCAlertMessage';
  dccAlertCode: DccAlertCode;
  throttledAlertSequenceId?: number;
  throttledAlertCount?: number;
  alert: DccAlert;
}

export interface OpaqueResponseBody {
  kind: 'opaque';
  name: 'SMETS1ResponseMessage';
  element: XmlElement;
}

export type ResponseBody = ResponseMessageBody | DeviceAlertMessageBody | DccAlertMessageBody | OpaqueResponseBody;

export interface DuisResponse {
  schemaVersion: string;
  header: ResponseHeader;
  body: ResponseBody;
}

/** DUIS Schema V5.4 ResponseMessage: the choice after ServiceReferenceVariant. */
export const RESPONSE_MESSAGE_ELEMENTS = [
  'CINMessage', 'DSPInventory', 'DSPOptIn', 'DSPSchedulesRead', 'DSPScheduledMessage', 'DSPScheduleID',
  'DSPUpdateFirmwareWarning', 'DSPUpdatePPMIDFirmwareWarning', 'DSPWANMatrix', 'FutureDatedDeviceAlertMessage',
  'GBCSPayload', 'LocalCommand', 'PreCommand',
] as const;
export type ResponseMessageElement = (typeof RESPONSE_MESSAGE_ELEMENTS)[number];

/** DUIS Schema V5.4 DCCAlert: the alert bodies. */
export const DCC_ALERT_ELEMENTS = [
  'PowerOutageEvent', 'DeviceStatusChangeEvent', 'DSPScheduleRemoval', 'CommandFailure', 'FirmwareDistributionFailure',
  'UpdateHANDeviceLogResult', 'ChangeOfSupplier', 'DeviceLogRestored', 'PPMIDAlert', 'SecurityCredentialsUpdated',
  'PPMIDRemoval', 'QuarantinedRequest', 'FirmwareVersionMismatch', 'DualBandCHAlert', 'S1SPAlertDSP',
  'SMETS1CHFirmwareNotification', 'ALCSHCALCSConfigurationChange', 'FirmwareUpgradeRequested', 'CSPFirmwareDeliveryStatus',
  'CommsHubAlert', 'ECoSAlert', 'CommsHubFirmwareActivation', 'CoSCertificateAlert', 'DUISVersionMismatch',
] as const;
export type DccAlertElement = (typeof DCC_ALERT_ELEMENTS)[number];

const QUARANTINE_REF_MAX = 10n ** 20n - 1n;

export function parseResponse(input: string | Uint8Array | XmlDocument, options: XmlParseOptions = {}): Checked<DuisResponse> {
  return checked(() => readResponse(toDocument(input, options)));
}

export function readResponse(doc: XmlDocument): DuisResponse {
  return readEnvelope(doc, 'Response', readHeader, readBody);
}

function readHeader(el: XmlElement): ResponseHeader {
  noAttributes(el);
  const r = new ChildReader(el);
  const requestId = r.optional('RequestID');
  const responseId = r.optional('ResponseID');
  const codeEl = r.required('ResponseCode');
  const code = simpleText(codeEl);
  if (!isResponseCode(code)) refuse('value', `ResponseCode ${quoted(code)} is not one DUIS defines`, codeEl);
  const dateEl = r.required('ResponseDateTime');
  const header: ResponseHeader = { responseCode: code, responseDateTime: readDateTime(simpleText(dateEl), dateEl) };
  r.end();
  if (requestId) header.requestId = parseRequestId(simpleText(requestId), requestId);
  if (responseId) header.responseId = parseResponseId(simpleText(responseId), responseId);
  return header;
}

function readBody(el: XmlElement): ResponseBody {
  noAttributes(el);
  const r = new ChildReader(el);
  const content = r.any('ResponseMessage, DeviceAlertMessage, DCCAlertMessage or SMETS1ResponseMessage');
  r.end();
  switch (content.local) {
    case 'ResponseMessage':
      return readResponseMessage(content);
    case 'DeviceAlertMessage':
      return readDeviceAlert(content);
    case 'DCCAlertMessage':
      return readDccAlert(content);
    case 'SMETS1ResponseMessage':
      return { kind: 'opaque', name: 'SMETS1ResponseMessage', element: content };
    default:
      return refuse('structure', `${content.local} is not a Response body DUIS defines`, content);
  }
}

function readPayload(el: XmlElement): Uint8Array {
  return decodeBase64(simpleText(el), 'GBCSPayload', el);
}

function readResponseMessage(el: XmlElement): ResponseMessageBody {
  noAttributes(el);
  const r = new ChildReader(el);
  const body: ResponseMessageBody = { kind: 'ResponseMessage', ...readServiceReferences(r) };
  const next = r.peek();
  if (next !== undefined) {
    const content = r.any('a ResponseMessage content');
    if (content.local === 'PreCommand') {
      noAttributes(content);
      const p = new ChildReader(content);
      const gbcsVersion = p.text('GBCSVersion');
      const payload = p.required('GBCSPayload');
      p.end();
      body.content = { kind: 'PreCommand', gbcsVersion, gbcsPayload: readPayload(payload) };
    } else if (content.local === 'GBCSPayload') {
      body.content = { kind: 'GBCSPayload', gbcsPayload: readPayload(content) };
    } else if ((RESPONSE_MESSAGE_ELEMENTS as readonly string[]).includes(content.local)) {
      body.content = { kind: 'opaque', name: content.local as ResponseMessageElement, element: content };
    } else {
      refuse('structure', `${content.local} is not a ResponseMessage content DUIS defines`, content);
    }
  }
  r.end();
  return body;
}

function readThrottling(r: ChildReader): { throttledAlertSequenceId?: number; throttledAlertCount?: number } {
  const out: { throttledAlertSequenceId?: number; throttledAlertCount?: number } = {};
  const seq = r.optional('ThrottledAlertSequenceId');
  if (seq) out.throttledAlertSequenceId = readUnsignedInt(simpleText(seq), seq);
  const count = r.optional('ThrottledAlertCount');
  if (count) out.throttledAlertCount = readUnsignedInt(simpleText(count), count);
  return out;
}

function readDeviceAlert(el: XmlElement): DeviceAlertMessageBody {
  noAttributes(el);
  const r = new ChildReader(el);
  const codeEl = r.required('AlertCode');
  const alertCode = readHexBinary(simpleText(codeEl), codeEl);
  if (alertCode.length === 0) refuse('value', 'AlertCode is empty', codeEl);
  const throttling = readThrottling(r);
  const payload = r.required('GBCSPayload');
  r.end();
  return { kind: 'DeviceAlertMessage', alertCode, ...throttling, gbcsPayload: readPayload(payload) };
}

function readDccAlert(el: XmlElement): DccAlertMessageBody {
  noAttributes(el);
  const r = new ChildReader(el);
  const codeEl = r.required('DCCAlertCode');
  const code = simpleText(codeEl);
  if (!isDccAlertCode(code)) refuse('value', `DCCAlertCode ${quoted(code)} is not one DUIS defines`, codeEl);
  const throttling = readThrottling(r);
  const alertEl = r.required('DCCAlert');
  r.end();
  noAttributes(alertEl);
  const a = new ChildReader(alertEl);
  const inner = a.any('a DCC alert');
  a.end();
  let alert: DccAlert;
  if (inner.local === 'QuarantinedRequest') {
    noAttributes(inner);
    const q = new ChildReader(inner);
    const breachEl = q.any('ADUserThresholdBreach, ADDCCThresholdBreach or ADAttributeLimitsBreach');
    q.end();
    if (!QUARANTINE_BREACHES.includes(breachEl.local)) refuse('structure', `${breachEl.local} is not a quarantine breach`, breachEl);
    noAttributes(breachEl);
    const b = new ChildReader(breachEl);
    const idEl = b.required('RequestID');
    const refEl = b.required('QuarantineEventRef');
    b.end();
    alert = {
      kind: 'QuarantinedRequest',
      breach: breachEl.local as QuarantineBreach,
      requestId: parseRequestId(simpleText(idEl), idEl),
      quarantineEventRef: readInteger(simpleText(refEl), refEl, -QUARANTINE_REF_MAX, QUARANTINE_REF_MAX),
    };
  } else if ((DCC_ALERT_ELEMENTS as readonly string[]).includes(inner.local)) {
    alert = { kind: 'opaque', name: inner.local as DccAlertElement, element: inner };
  } else {
    return refuse('structure', `${inner.local} is not a DCC alert DUIS defines`, inner);
  }
  return { kind: 'DCCAlertMessage', dccAlertCode: code, ...throttling, alert };
}

/** The response as canonical XML (declaration, no whitespace between elements, no signature). */
export function buildResponse(response: DuisResponse): string {
  return serializeDocument(responseTree(response));
}

export function responseTree(response: DuisResponse): XmlElement {
  const h = response.header;
  const header: XmlElement[] = [];
  if (h.requestId) header.push(srText('RequestID', formatRequestId(h.requestId)));
  if (h.responseId) header.push(srText('ResponseID', formatResponseId(h.responseId)));
  if (!isResponseCode(h.responseCode)) refuse('value', `ResponseCode ${h.responseCode} is not one DUIS defines`);
  if (!isDateTime(h.responseDateTime)) refuse('value', `ResponseDateTime ${quoted(h.responseDateTime)} is not an xs:dateTime`);
  header.push(srText('ResponseCode', h.responseCode), srText('ResponseDateTime', h.responseDateTime));
  const body = srElement('Body');
  const content = bodyElement(response.body, body);
  body.children.push(content);
  content.parent = body;
  if (!/^[0-9]+(\.[0-9]+)?$/.test(response.schemaVersion)) refuse('value', `schemaVersion ${response.schemaVersion} is not a decimal`);
  return srRoot('Response', response.schemaVersion, [srElement('Header', header), body]);
}

/**
 * The canonical text of a plain ResponseMessage answering a request (what the DCC sends most: acknowledgements,
 * refusals, Pre-Commands, device responses), written from a fixed template instead of built as a tree and
 * canonicalised: byte for byte what canonicalising responseTree(response) gives (a property test holds the two
 * equal), after the same checks. Undefined for any other response, which takes the tree.
 */
export function canonicalResponseText(response: DuisResponse): string | undefined {
  const { header: h, body } = response;
  if (!h.requestId || h.responseId || body.kind !== 'ResponseMessage' || body.content?.kind === 'opaque') return undefined;
  const requestId = formatRequestId(h.requestId);
  if (!isResponseCode(h.responseCode)) refuse('value', `ResponseCode ${h.responseCode} is not one DUIS defines`);
  if (!isDateTime(h.responseDateTime)) refuse('value', `ResponseDateTime ${quoted(h.responseDateTime)} is not an xs:dateTime`);
  checkServiceReferences(body);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(response.schemaVersion)) refuse('value', `schemaVersion ${response.schemaVersion} is not a decimal`);
  const c = body.content;
  const content =
    c?.kind === 'PreCommand'
      ? `<sr:PreCommand><sr:GBCSVersion>${escapeText(c.gbcsVersion)}</sr:GBCSVersion><sr:GBCSPayload>${encodeBase64(c.gbcsPayload)}</sr:GBCSPayload></sr:PreCommand>`
      : c?.kind === 'GBCSPayload'
        ? `<sr:GBCSPayload>${encodeBase64(c.gbcsPayload)}</sr:GBCSPayload>`
        : '';
  // Every value above is checked to need no escaping but GBCSVersion, which is escaped as c14n escapes text.
  return (
    `<sr:Response xmlns:ds="${NS.ds}" xmlns:sr="${NS.sr}" schemaVersion="${response.schemaVersion}">` +
    `<sr:Header><sr:RequestID>${requestId}</sr:RequestID><sr:ResponseCode>${h.responseCode}</sr:ResponseCode>` +
    `<sr:ResponseDateTime>${h.responseDateTime}</sr:ResponseDateTime></sr:Header>` +
    `<sr:Body><sr:ResponseMessage><sr:ServiceReference>${body.serviceReference}</sr:ServiceReference>` +
    `<sr:ServiceReferenceVariant>${body.serviceReferenceVariant}</sr:ServiceReferenceVariant>${content}</sr:ResponseMessage></sr:Body></sr:Response>`
  );
}

function payloadElement(bytes: Uint8Array): XmlElement {
  return srText('GBCSPayload', encodeBase64(bytes));
}

function throttlingElements(b: { throttledAlertSequenceId?: number; throttledAlertCount?: number }): XmlElement[] {
  const out: XmlElement[] = [];
  for (const [name, v] of [
    ['ThrottledAlertSequenceId', b.throttledAlertSequenceId],
    ['ThrottledAlertCount', b.throttledAlertCount],
  ] as const) {
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) refuse('value', `${name} ${v} is not an xs:unsignedInt`);
    out.push(srText(name, String(v)));
  }
  return out;
}

function bodyElement(body: ResponseBody, parent: XmlElement): XmlElement {
  switch (body.kind) {
    case 'ResponseMessage': {
      checkServiceReferences(body);
      const children = [srText('ServiceReference', body.serviceReference), srText('ServiceReferenceVariant', body.serviceReferenceVariant)];
      const message = srElement('ResponseMessage', children);
      const c = body.content;
      if (c?.kind === 'PreCommand') children.push(srElement('PreCommand', [srText('GBCSVersion', c.gbcsVersion), payloadElement(c.gbcsPayload)]));
      else if (c?.kind === 'GBCSPayload') children.push(payloadElement(c.gbcsPayload));
      else if (c?.kind === 'opaque') children.push(adoptNamed(c.element, c.name, message));
      for (const e of children) e.parent = message;
      return message;
    }
    case 'DeviceAlertMessage': {
      if (!/^(?:[0-9A-Fa-f]{2})+$/.test(body.alertCode)) refuse('value', `AlertCode ${body.alertCode} is not hexBinary`);
      return srElement('DeviceAlertMessage', [
        srText('AlertCode', body.alertCode.toUpperCase()),
        ...throttlingElements(body),
        payloadElement(body.gbcsPayload),
      ]);
    }
    case 'DCCAlertMessage': {
      if (!isDccAlertCode(body.dccAlertCode)) refuse('value', `DCCAlertCode ${body.dccAlertCode} is not one DUIS defines`);
      const alert = srElement('DCCAlert');
      const a = body.alert;
      let inner: XmlElement;
      if (a.kind === 'QuarantinedRequest') {
        if (!QUARANTINE_BREACHES.includes(a.breach)) refuse('value', `${a.breach} is not a quarantine breach`);
        if (a.quarantineEventRef < -QUARANTINE_REF_MAX || a.quarantineEventRef > QUARANTINE_REF_MAX) {
          refuse('value', `QuarantineEventRef ${a.quarantineEventRef} has more than 20 digits`);
        }
        inner = srElement('QuarantinedRequest', [
          srElement(a.breach, [srText('RequestID', formatRequestId(a.requestId)), srText('QuarantineEventRef', a.quarantineEventRef.toString())]),
        ]);
      } else {
        inner = adoptNamed(a.element, a.name, alert);
      }
      alert.children.push(inner);
      inner.parent = alert;
      return srElement('DCCAlertMessage', [srText('DCCAlertCode', body.dccAlertCode), ...throttlingElements(body), alert]);
    }
    case 'opaque':
      return adoptNamed(body.element, body.name, parent);
  }
}

function adoptNamed(el: XmlElement, name: string, parent: XmlElement): XmlElement {
  if (el.uri !== NS.sr || el.local !== name) refuse('value', `opaque element ${qualifiedName(el)} is not the ${name} element of ${NS.sr}`);
  return adopt(el, parent);
}

