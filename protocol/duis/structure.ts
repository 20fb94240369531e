/**
 * Built-in structural validation, for when no XSD is at hand: the hardened parse plus the typed readers, which
 * check element names, namespaces, order, cardinality and the simple types of everything modelled, and that
 * every opaque body is one DUIS defines. Narrower than the XSD (opaque bodies' insides are not checked), never
 * looser for what the project acts on.
 */
import { type Checked, checked, refuse } from './errors.ts';
import { NS } from './namespaces.ts';
import { type DuisRequest, readRequest } from './request.ts';
import { type DuisResponse, readResponse } from './response.ts';
import { parseXmlOrThrow, type XmlParseOptions } from './xml-parser.ts';
import { qualifiedName, type XmlDocument } from './xml-tree.ts';
import { quoted } from './simple-types.ts';

export type DuisMessage = { kind: 'request'; request: DuisRequest } | { kind: 'response'; response: DuisResponse };

export function validateStructure(input: string | Uint8Array | XmlDocument, options: XmlParseOptions = {}): Checked<DuisMessage> {
  return checked(() => {
    const doc = typeof input === 'string' || input instanceof Uint8Array ? parseXmlOrThrow(input, { comments: 'drop', ...options }) : input;
    const root = doc.root;
    if (root.uri === NS.sr && root.local === 'Request') return { kind: 'request', request: readRequest(doc) };
    if (root.uri === NS.sr && root.local === 'Response') return { kind: 'response', response: readResponse(doc) };
    return refuse('structure', `${qualifiedName(root)} in ${quoted(root.uri, 100)} is neither sr:Request nor sr:Response`, root);
  });
}
