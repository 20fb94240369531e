// A meddling cable for the serial tests, in a process of its own (serialport's binding needs a main thread):
// joins two serial lines byte for byte, flipping a bit in every Nth chunk and inserting junk between chunks when
// told to. Commands on stdin: "cut" stops everything, "mend" resumes. Prints a JSON line when ready and, on
// exit (stdin closed), one with its counts.
import { createInterface } from 'node:readline';
import { SerialPort } from 'serialport';

const [left, right, flipEvery = '0', junkEvery = '0'] = process.argv.slice(2);
const counts = { chunks: 0, flipped: 0, junk: 0 };
let cut = false;
const open = (path) => new Promise((resolve, reject) => {
  const p = new SerialPort({ path, baudRate: 115200 }, (e) => (e ? reject(e) : resolve(p)));
});
const [a, b] = await Promise.all([open(left), open(right)]);
const pass = (to) => (chunk) => {
  if (cut) return;
  counts.chunks++;
  let out = Buffer.from(chunk);
  if (Number(flipEvery) && counts.chunks % Number(flipEvery) === 0) {
    const i = out.length >> 1;
    out[i] ^= 0x04;
    counts.flipped++;
  }
  if (Number(junkEvery) && counts.chunks % Number(junkEvery) === 0) {
    out = Buffer.concat([Buffer.from([0x17, 0xc0, 0x01, 0x01, 0x42, 0xdb, 0x00]), out]);
    counts.junk++;
  }
  if (to.isOpen) to.write(out);
};
a.on('data', pass(b));
b.on('data', pass(a));
a.on('error', () => {});
b.on('error', () => {});
process.stdout.write(JSON.stringify({ event: 'ready' }) + '\n');
const lines = createInterface({ input: process.stdin });
lines.on('line', (l) => {
  if (l === 'cut') cut = true;
  if (l === 'mend') cut = false;
  process.stdout.write(JSON.stringify({ event: l }) + '\n');
});
lines.on('close', () => {
  process.stdout.write(JSON.stringify({ event: 'stopped', ...counts }) + '\n', () => process.exit(0));
});
