import test from 'ava';
import { command, defaultResponseFor, Fc, readComponents, writeComponents } from '../../../protocol/gbcs/usecases/gbz-components.ts';
import { decodeResult } from '../../../protocol/gbcs/errors.ts';

const read = (b: Uint8Array) => decodeResult(() => readComponents(b, 'test'));

test('components round-trip with the last-component flag and the From-Date-Time header', (t) => {
  const cs = [command(0, 0x0705, 0x03, Uint8Array.of(1, 2)), command(1, 0x0705, 0x09, Uint8Array.of(3), Fc.clusterClientToServer, { kind: 'at', at: new Date('2030-01-15T09:00:00Z') })];
  const bytes = writeComponents(cs);
  // profile, count, control 00 (not last) ...; control 11 (last + From-Date-Time), time big-endian, fc, seq, cmd, payload
  t.is(bytes.subarray(0, 4).toString('hex'), '01090200');
  t.true(bytes.includes(Buffer.from('11070500083881889001010903', 'hex')));
  t.deepEqual(read(bytes), { ok: true, value: cs });
});

test('a wrong last-component flag, an encrypted component or trailing octets are refused', (t) => {
  const good = writeComponents([command(0, 0x0705, 0x00, Uint8Array.of(0))]);
  const notLast = Buffer.from(good);
  notLast[3] = 0x00;
  t.false(read(notLast).ok);
  const encrypted = Buffer.from(good);
  encrypted[3] = 0x03;
  t.false(read(encrypted).ok);
  t.false(read(Buffer.concat([good, Uint8Array.of(0)])).ok);
  t.false(read(good.subarray(0, good.length - 2)).ok);
});

test('Default Responses answer in the opposite direction of the command', (t) => {
  t.is(defaultResponseFor(command(0, 0x0705, 0x05, new Uint8Array()), 0).frameControl, Fc.profileServerToClient);
  t.is(defaultResponseFor(command(0, 0x0707, 0x00, new Uint8Array(), Fc.clusterServerToClient), 0).frameControl, Fc.profileClientToServer);
  t.deepEqual([...defaultResponseFor(command(4, 0x0705, 0x05, new Uint8Array()), 0x7e).payload], [0x05, 0x7e]);
});
