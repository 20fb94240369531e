/**
 * The DCC's device port as a world sees it: every GBCS Command and SMETS1 instruction the DCC sends, each
 * device's answer (or that none came), and every device alert, recorded as traffic of the step under way beside
 * its DUIS messages, so a report shows what crossed the device link and not only what the Users saw.
 */
import { classifyFrame } from '../../devices/transports/frame-keys.ts';
import type { DevicePort, DeviceReply } from '../../emulator/ports.ts';
import { decodeFrame, summarizeFrame } from '../../protocol/gbcs/frame.ts';
import { describeOutcome, parseResponseContent } from '../../protocol/gbcs/usecases/responses.ts';
import { decodeS1sp } from '../../protocol/s1sp/frame.ts';
import type { Eui } from '../../protocol/smki/eui.ts';
import type { TrafficRecord } from '../results.ts';

type Traffic = Omit<TrafficRecord, 'at'>;

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex').toUpperCase();

/** One line for a GBCS frame: its kind and use case, the payment mode it sets, a response's outcome. */
export function gbcsLine(bytes: Uint8Array): string {
  const decoded = decodeFrame(bytes);
  if (!decoded.ok) return `undecodable GBCS frame (${decoded.error.toString()})`;
  const frame = decoded.value;
  const s = summarizeFrame(frame);
  const what = s.alert ? s.alert.code : (s.useCase ?? `message code 0x${frame.apdu.messageCode.toString(16).toUpperCase().padStart(4, '0')}`);
  const mode = s.paymentMode ? ` (${s.paymentMode}${s.execution && s.execution !== 'now' ? `, ${s.execution === 'never' ? 'cancel' : `at ${s.execution}`}` : ''})` : '';
  const outcome = frame.kind === 'response' ? parseResponseContent(frame.apdu.content) : null;
  return `${frame.kind} ${what}${mode}${outcome ? `: ${outcome.ok ? describeOutcome(outcome.value) : `outcome not read: ${outcome.error.message}`}` : ''}`;
}

function s1spLine(bytes: Uint8Array): string {
  const d = decodeS1sp(bytes);
  if (!d.ok) return `undecodable S1SP frame (${d.error.toString()})`;
  const f = d.value.frame;
  if (f.type === 'response') return `S1SP response, ${f.status}`;
  return f.type === 'alert' ? `S1SP alert 0x${f.code.toString(16).toUpperCase()}` : 'an S1SP instruction';
}

function answer(device: string, kind: 'gbcs' | 's1sp', reply: DeviceReply): Traffic {
  if (reply.kind !== 'response') return { direction: 'device->dcc', party: device, kind, summary: `no answer from ${device} (${reply.kind}: ${reply.reason})`, payload: '' };
  const line = kind === 'gbcs' ? gbcsLine(reply.frame) : s1spLine(reply.frame);
  return { direction: 'device->dcc', party: device, kind, summary: `${device} answers: ${line}`, payload: hex(reply.frame) };
}

/** `port`, recording into `add` what passes through it; `aliasOf` names a device as the scenario does. */
export function recordingPort(port: DevicePort, add: (r: Traffic) => void, aliasOf: (eui: Eui) => string): DevicePort {
  return {
    async sendCommand(device, command, timeoutMs) {
      const to = aliasOf(device.eui);
      add({ direction: 'dcc->device', party: to, kind: 'gbcs', summary: `to ${to}: ${gbcsLine(command)}`, payload: hex(command) });
      const reply = await port.sendCommand(device, command, timeoutMs);
      add(answer(to, 'gbcs', reply));
      return reply;
    },
    async sendSmets1(device, operation, timeoutMs) {
      const to = aliasOf(device.eui);
      // The S1SP builds the frame itself: what the DCC hands it is the operation, shown as JSON.
      const body = JSON.stringify(operation.body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      add({ direction: 'dcc->device', party: to, kind: 's1sp', summary: `to ${to} via the S1SP: SRV ${operation.srv}, DUIS counter ${operation.counter}`, payload: body });
      const reply = await port.sendSmets1(device, operation, timeoutMs);
      add(answer(to, 's1sp', reply));
      return reply;
    },
    supportedSrvs: (device) => port.supportedSrvs(device),
    // Recorded as the DCC's own listener hears them: the subscription ends when the DCC's does.
    onAlert: (listener) =>
      port.onAlert((eui, frame) => {
        const from = aliasOf(eui);
        const s1sp = classifyFrame(frame)?.protocol === 's1sp';
        add({ direction: 'device->dcc', party: from, kind: s1sp ? 's1sp' : 'gbcs', summary: `${from} alerts: ${s1sp ? s1spLine(frame) : gbcsLine(frame)}`, payload: hex(frame) });
        listener(eui, frame);
      }),
    state: (device) => port.state(device),
  };
}
