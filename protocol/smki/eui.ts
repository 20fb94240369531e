/**
 * EUI-64 identifiers as GBCS and DUIS write them.
 *
 * Inside the project an EUI is 16 upper-case hex digits ("90B3D51F30010000"); DUIS RequestIDs write it as
 * eight dash-separated octets ("90-B3-D5-1F-30-01-00-00"). Both forms parse; only the compact one is stored.
 */
export type Eui = string & { readonly __eui: unique symbol };

const COMPACT = /^[0-9A-F]{16}$/;
const ANY = /^(?:[0-9A-Fa-f]{16}|[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7})$/;

export class EuiError extends Error {
  override readonly name = 'EuiError';
}

export function parseEui(text: string): Eui {
  if (COMPACT.test(text)) return text as Eui;
  if (!ANY.test(text)) throw new EuiError(`not an EUI-64: ${JSON.stringify(text)} (want 16 hex digits or HH-HH-HH-HH-HH-HH-HH-HH)`);
  return text.replaceAll('-', '').toUpperCase() as Eui;
}

export function isEui(text: string): text is Eui {
  return COMPACT.test(text);
}

export function euiFromBytes(bytes: Uint8Array): Eui {
  if (bytes.length !== 8) throw new EuiError(`an EUI-64 is 8 bytes, got ${bytes.length}`);
  return Buffer.from(bytes).toString('hex').toUpperCase() as Eui;
}

export function euiToBytes(eui: Eui): Buffer {
  return Buffer.from(eui, 'hex');
}

/** "90-B3-D5-1F-30-01-00-00", the DUIS RequestID form. */
export function euiDashed(eui: Eui): string {
  let dashed = eui.slice(0, 2);
  for (let i = 2; i < eui.length; i += 2) dashed += '-' + eui.slice(i, i + 2);
  return dashed;
}

/** The DCC's own EUI: the target of non-device Service Requests. */
export const DCC_EUI = parseEui('90B3D51F30000002');
