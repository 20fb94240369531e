/**
 * The User checks a meter's answer against the command it signed: the answer must be addressed to the command's
 * originator, carry its message code and, from an ESME, report every request specification; an S1SP status
 * counts as done only when it is what the command asked for.
 */
import test from 'ava';
import { checkDeviceAnswer } from '../../harness/agents/device-answer.ts';
import { encodeGeneralSigning, type GeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { ByteWriter } from '../../protocol/gbcs/bytes.ts';
import { writeAccessResponse } from '../../protocol/gbcs/dlms.ts';
import { signApdu } from '../../protocol/gbcs/security.ts';
import { buildPaymentModePreCommand } from '../../protocol/gbcs/usecases/payment-mode.ts';
import { encodeReply, type S1spStatus } from '../../protocol/s1sp/frame.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { generateKeyPair } from '../../protocol/smki/keys.ts';

const meter = parseEui('00DB123456780001');
const supplier = parseEui('90B3D51F30010000');
const otherUser = parseEui('90B3D51F30020000');
const s1sp = parseEui('90B3D51F300F0001');
const meterDs = generateKeyPair();
const counter = 0x0100000000000042n;
const keys = () => ({ ds: [meterDs.publicKey], mac: null });

/** ECS02 as the supplier signed it: three SETs. */
const command = buildPaymentModePreCommand({ variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'now' } }, counter, originator: supplier, recipient: meter });

function answer(o: { results?: number[]; to?: typeof supplier; messageCode?: number } = {}): Uint8Array {
  const results = o.results ?? [0, 0, 0];
  const w = new ByteWriter();
  writeAccessResponse(w, { invokeId: 1, data: results.map(() => ({ type: 'null' as const })), results: results.map((result) => ({ kind: 'set' as const, result })) });
  const apdu: GeneralSigning = {
    cra: 'response',
    counter,
    originator: meter,
    recipient: o.to ?? supplier,
    dateTime: null,
    messageCode: o.messageCode ?? command.messageCode,
    supplementary: new Uint8Array(0),
    content: w.finish(),
    signature: null,
  };
  return encodeGeneralSigning(signApdu(apdu, meterDs.privateKey));
}

const problem = (a: ReturnType<typeof checkDeviceAnswer>) => (a.ok ? `accepted: ${JSON.stringify(a)}` : a.problem);

test('an ESME answer that reports every request specification done is a success', (t) => {
  t.deepEqual(checkDeviceAnswer(answer(), { device: meter, smets1: false, counter, originator: supplier, command }, keys), { ok: true, from: 'meter', success: true });
  t.deepEqual(checkDeviceAnswer(answer({ results: [0, 3, 250] }), { device: meter, smets1: false, counter, originator: supplier, command }, keys), { ok: true, from: 'meter', success: false });
});

test('an ESME answer with no results is not a success, even when the command is not known', (t) => {
  t.like(checkDeviceAnswer(answer({ results: [] }), { device: meter, smets1: false, counter, originator: supplier }, keys), { ok: true, from: 'meter', success: false });
});

test('an ESME answer with fewer or more results than the command has request specifications is refused', (t) => {
  for (const results of [[], [0], [0, 0, 0, 0]]) {
    const a = checkDeviceAnswer(answer({ results }), { device: meter, smets1: false, counter, originator: supplier, command }, keys);
    t.false(a.ok, `${results.length} result(s)`);
    t.regex(problem(a), new RegExp(`gives ${results.length} result\\(s\\) to a command with 3 request specification\\(s\\)`));
  }
});

test("an answer addressed to another User, or with another use case's message code, does not answer the command", (t) => {
  const elsewhere = checkDeviceAnswer(answer({ to: otherUser }), { device: meter, smets1: false, counter, originator: supplier, command }, keys);
  t.regex(problem(elsewhere), /addressed to 90B3D51F30020000, not to 90B3D51F30010000/);
  const otherUseCase = checkDeviceAnswer(answer({ messageCode: 0x0050 }), { device: meter, smets1: false, counter, originator: supplier, command }, keys);
  t.regex(problem(otherUseCase), /message code 0x0050, not the command's 0x001A/);
});

test('an S1SP status is a success only when it is what the command asked for', (t) => {
  const reply = (status: S1spStatus) => encodeReply({ type: 'response', id: 7n, from: meter, to: s1sp, time: 0, status });
  const success = (status: S1spStatus, execution?: 'now' | 'at' | 'never') => {
    const a = checkDeviceAnswer(reply(status), { device: meter, smets1: true, counter, originator: supplier, ...(execution ? { execution } : {}) }, keys);
    return a.ok ? a.success : a.problem;
  };
  t.true(success('executed', 'now'));
  t.false(success('scheduled', 'now'), 'a change asked for now that is only scheduled is not done');
  t.false(success('cancelled', 'now'), 'a change asked for now that was cancelled is not done');
  t.true(success('scheduled', 'at'));
  t.true(success('executed', 'at'), 'a date already past executes at once');
  t.false(success('cancelled', 'at'));
  t.true(success('cancelled', 'never'));
  t.false(success('executed', 'never'));
  t.true(success('scheduled'), 'what was asked is not known: any done status counts');
});
