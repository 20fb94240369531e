/** The serial link's SLIP decoder: what the library's encoder writes comes back whole, and junk stays bounded. */
import test from 'ava';
import fc from 'fast-check';
import { SlipEncoder } from '@serialport/parser-slip-encoder';
import { BoundedSlipDecoder, type SlipJunk } from '../../../../devices/transports/serial/slip-decoder.ts';

function decoder(maxFrame: number) {
  const frames: string[] = [];
  const junk: SlipJunk[] = [];
  const d = new BoundedSlipDecoder(maxFrame, { frame: (f) => frames.push(f.toString('hex')), junk: (_n, why) => junk.push(why) });
  return { d, frames, junk };
}

function encode(frames: Uint8Array[]): Buffer {
  const e = new SlipEncoder({ bluetoothQuirk: true });
  const out: Buffer[] = [];
  e.on('data', (c: Buffer) => out.push(c));
  for (const f of frames) e.write(f);
  return Buffer.concat(out);
}

test('frames the SLIP encoder wrote come back whole, however the line splits them', (t) => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (frames, cuts) => {
      const wire = encode(frames);
      const { d, frames: got, junk } = decoder(64);
      let at = 0;
      for (const c of [...cuts.map((x) => x % (wire.length + 1)).sort((a, b) => a - b), wire.length]) {
        d.write(wire.subarray(at, Math.max(at, c)));
        at = Math.max(at, c);
      }
      return junk.length === 0 && JSON.stringify(got) === JSON.stringify(frames.map((f) => Buffer.from(f).toString('hex')));
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('line noise with no END is given up once it outgrows the largest frame, and the next frame still arrives', (t) => {
  const { d, frames, junk } = decoder(16);
  d.write(Buffer.alloc(100_000, 0x41)); // a boot log: no END for 100 kB
  d.write(encode([Uint8Array.of(1, 2, 3)]));
  t.deepEqual(junk, ['too-long']);
  t.deepEqual(frames, ['010203']);
});

test('an escape SLIP does not define spoils its frame only', (t) => {
  const { d, frames, junk } = decoder(16);
  d.write(Uint8Array.of(0xc0, 0x01, 0xdb, 0x42, 0x02, 0xc0, 0x03, 0xdb, 0xdc, 0xc0));
  t.deepEqual(junk, ['bad-escape']);
  t.deepEqual(frames, ['03c0']);
});

test('a frame whose last octet is a lone ESC is given up, not delivered one octet short', (t) => {
  const { d, frames, junk } = decoder(16);
  d.write(Uint8Array.of(0xc0, 0x01, 0x02, 0xdb, 0xc0, 0x03, 0xc0));
  t.deepEqual(junk, ['bad-escape']);
  t.deepEqual(frames, ['03']);
});
