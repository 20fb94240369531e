/**
 * The DUIS XML layer: typed Service Requests and Responses, hardened parsing, XMLDSig sign and verify, and
 * validation (built-in or against the DUIS XSD). Everything that reads untrusted input returns a Checked<T>.
 */
export { type Checked, DuisError, type DuisErrorCode, DuisFailure, unwrap } from './errors.ts';
export { ALGORITHM, NS, SCHEMA_VERSION } from './namespaces.ts';
export { DEFAULT_LIMITS, parseXml, type XmlLimits, type XmlParseOptions } from './xml-parser.ts';
export type { XmlAttribute, XmlChild, XmlDocument, XmlElement } from './xml-tree.ts';
export { canonicalizeDocument, canonicalizeExclusive } from './canonical.ts';
export { formatRequestId, formatResponseId, parseRequestId, parseResponseId, type RequestId, type ResponseId } from './request-id.ts';
export {
  COMMAND_VARIANTS,
  type CommandVariant,
  REQUEST_BODY_ELEMENTS,
  type RequestBodyElement,
  SERVICE_REFERENCE_VARIANTS,
  SERVICE_REFERENCES,
  type ServiceReference,
  type ServiceReferenceVariant,
  serviceReferenceOf,
} from './service-references.ts';
export {
  DCC_ALERT_CODES,
  type DccAlertCode,
  describeResponseCode,
  RESPONSE_CODE_MEANINGS,
  RESPONSE_CODES,
  type ResponseCode,
  responseCodeKind,
} from './response-codes.ts';
export { dateTimeInstant, formatDateTime } from './simple-types.ts';
export {
  buildRequest,
  CANCEL_EXECUTION_DATE_TIME,
  type DuisRequest,
  type Execution,
  executionOf,
  type OpaqueRequestBody,
  parseRequest,
  type PaymentMode,
  type RequestBody,
  type RequestHeader,
  type SignedPreCommandBody,
  type UpdatePaymentModeBody,
} from './request.ts';
export {
  buildResponse,
  type DccAlert,
  type DccAlertMessageBody,
  type DeviceAlertMessageBody,
  type DuisResponse,
  parseResponse,
  type QuarantineBreach,
  type ResponseBody,
  type ResponseContent,
  type ResponseHeader,
  type ResponseMessageBody,
} from './response.ts';
export {
  keystoreResolver,
  type SignerIdentity,
  type SignerResolution,
  type SignerResolver,
  signXml,
  type VerifiedXml,
  verifyXml,
  type XmlSigner,
  xmlSignerFromEntry,
} from './xmldsig.ts';
export {
  signRequest,
  signRequestXml,
  signResponse,
  type VerifiedMessage,
  type VerifiedRequest,
  type VerifiedResponse,
  verifyMessage,
  verifyRequest,
  verifyResponse,
} from './signed-messages.ts';
export { type DuisMessage, validateStructure } from './structure.ts';
export { SchemaLoadError, validateAgainstXsd, validateManyAgainstXsd } from './schema.ts';
