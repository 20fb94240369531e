import test from 'ava';
import { decodeMt, encodeMt, fcs, type MtFrame, MtFrameError, MtParser, MtReader, MtSubsystem, MtType, MtWriter } from '../../../../devices/transports/zigbee/fake/mt.ts';

const ping: MtFrame = { type: MtType.SREQ, subsystem: MtSubsystem.SYS, command: 0x01, data: Buffer.alloc(0) };

test('SYS_PING encodes as SOF, LEN, CMD0, CMD1, FCS', (t) => {
  // CMD0 = SREQ (1) << 5 | SYS (1) = 0x21; FCS = 0x00 ^ 0x21 ^ 0x01 = 0x20.
  t.deepEqual(encodeMt(ping), Buffer.from('fe00210120', 'hex'));
});

test('the FCS is the XOR of length, command and data octets', (t) => {
  const f: MtFrame = { type: MtType.SRSP, subsystem: MtSubsystem.SYS, command: 0x01, data: Buffer.of(0x79, 0x01) };
  const b = encodeMt(f);
  t.deepEqual(b, Buffer.from('fe02610179011a', 'hex'));
  t.is(b[b.length - 1], fcs(b, 1, b.length - 1));
  t.deepEqual(decodeMt(b), f);
});

test('a frame with a wrong FCS or length is refused', (t) => {
  const b = encodeMt(ping);
  b[b.length - 1] = b[b.length - 1]! ^ 0xff;
  t.throws(() => decodeMt(b), { instanceOf: MtFrameError, message: /FCS/ });
  t.throws(() => decodeMt(Buffer.from('fe01210120', 'hex')), { instanceOf: MtFrameError, message: /length/ });
  t.throws(() => encodeMt({ ...ping, data: Buffer.alloc(251) }), { instanceOf: MtFrameError });
});

test('the parser finds frames split across chunks, skips noise before SOF and drops a corrupt frame', (t) => {
  const frames: MtFrame[] = [];
  const errors: string[] = [];
  const p = new MtParser(
    (f) => frames.push(f),
    (e) => errors.push(e.message),
  );
  const a = encodeMt({ type: MtType.AREQ, subsystem: MtSubsystem.ZDO, command: 0xc0, data: Buffer.of(9) });
  const bad = encodeMt({ type: MtType.SREQ, subsystem: MtSubsystem.AF, command: 0x01, data: Buffer.of(1, 2, 3) });
  bad[5] = bad[5]! ^ 0x01;
  const c = encodeMt({ type: MtType.SRSP, subsystem: MtSubsystem.UTIL, command: 0x00, data: Buffer.alloc(40, 7) });
  const stream = Buffer.concat([Buffer.of(0xef, 0x00), a, bad, c]);
  for (let i = 0; i < stream.length; i += 3) p.push(stream.subarray(i, i + 3));
  t.deepEqual(
    frames.map((f) => [f.type, f.subsystem, f.command, f.data.length]),
    [
      [MtType.AREQ, MtSubsystem.ZDO, 0xc0, 1],
      [MtType.SRSP, MtSubsystem.UTIL, 0x00, 40],
    ],
  );
  t.is(errors.length, 1);
  t.true(p.skipped >= 2);
});

test('payload fields are little-endian and IEEE addresses go on the wire reversed', (t) => {
  const ieee = Buffer.from('00124b00f00dfeed', 'hex');
  const b = new MtWriter().u8(1).u16(0x1234).u32(0xa1b2c3d4).ieee(ieee).bytes(Buffer.of(9)).build();
  t.deepEqual(b, Buffer.from('013412d4c3b2a1' + 'edfe0df0004b1200' + '09', 'hex'));
  const r = new MtReader(b);
  t.is(r.u8(), 1);
  t.is(r.u16(), 0x1234);
  t.is(r.u32(), 0xa1b2c3d4);
  t.deepEqual(r.ieee(), ieee);
  t.deepEqual(r.rest(), Buffer.of(9));
  t.throws(() => r.u8(), { instanceOf: MtFrameError, message: /too short/ });
});
