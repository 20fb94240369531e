/**
 * What the Transport needs to know about a frame to pair a response with its request and to spot alerts:
 * the protocol, the direction, the device, and a key shared by a request and its response.
 * - GBCS: a Command (CRA 01) and its Response (CRA 02) share device EUI, remote party EUI and originator
 *   counter; Alerts are CRA 03. The frame may be General-Signing or General-Ciphering.
 * - S1SP: an instruction and its response share the meter EUI and the instruction id; alerts are type 3.
 */
import { decodeGeneralCiphering, decodeGeneralSigning, GENERAL_CIPHERING_TAG, GENERAL_SIGNING_TAG } from '../../protocol/gbcs/apdu.ts';
import { type Eui } from '../../protocol/smki/eui.ts';
import { peekS1spHeader } from '../../protocol/s1sp/frame.ts';

export type FrameRole = 'request' | 'response' | 'alert';

export interface FrameKey {
  protocol: 'gbcs' | 's1sp';
  role: FrameRole;
  /** The device the frame is to or from. */
  device: Eui;
  /** Shared by a request and its response; for alerts, unique to the alert. */
  key: string;
}

export function classifyFrame(frame: Uint8Array): FrameKey | null {
  const tag = frame[0];
  if (tag === GENERAL_CIPHERING_TAG || tag === GENERAL_SIGNING_TAG) {
    let bytes = frame;
    if (tag === GENERAL_CIPHERING_TAG) {
      const c = decodeGeneralCiphering(frame);
      if (!c.ok) return null;
      bytes = c.value.payload;
    }
    const d = decodeGeneralSigning(bytes);
    if (!d.ok) return null;
    const a = d.value;
    if (a.cra === 'command') return { protocol: 'gbcs', role: 'request', device: a.recipient, key: `gbcs/${a.recipient}/${a.originator}/${a.counter}` };
    if (a.cra === 'response') return { protocol: 'gbcs', role: 'response', device: a.originator, key: `gbcs/${a.originator}/${a.recipient}/${a.counter}` };
    return { protocol: 'gbcs', role: 'alert', device: a.originator, key: `gbcs-alert/${a.originator}/${a.counter}` };
  }
  const h = peekS1spHeader(frame);
  if (!h) return null;
  if (h.type === 'instruction') return { protocol: 's1sp', role: 'request', device: h.to, key: `s1sp/${h.to}/${h.id}` };
  if (h.type === 'response') return { protocol: 's1sp', role: 'response', device: h.from, key: `s1sp/${h.from}/${h.id}` };
  return { protocol: 's1sp', role: 'alert', device: h.from, key: `s1sp-alert/${h.from}/${h.id}` };
}

/** The device a frame sent towards devices is for, as far as it can be read (for routing in a device host). */
export function frameTarget(frame: Uint8Array): Eui | null {
  const k = classifyFrame(frame);
  return k && k.role === 'request' ? k.device : null;
}
