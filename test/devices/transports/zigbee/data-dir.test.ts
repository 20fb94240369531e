/**
 * A coordinator's data directory (a rig file's `dataDir`) that cannot be made: the network does not start, and
 * says why, at once. (node's recursive mkdir never returns for a path under /proc; see devices/directories.ts.)
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LinkError } from '../../../../devices/transports/link.ts';
import { ZigbeeNetwork } from '../../../../devices/transports/zigbee/network.ts';

test('a data directory that cannot be made (under /proc, or below a file) stops the network before it starts, naming the directory', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'zigbee-data-dir-')), 'file');
  writeFileSync(file, 'x');
  for (const dataDir of ['/proc/smets-hil-zigbee/data', join(file, 'data')]) {
    const e = await t.throwsAsync(ZigbeeNetwork.start({ port: 'tcp://127.0.0.1:1', dataDir }), { instanceOf: LinkError });
    t.is((e as LinkError).kind, 'open-failed');
    t.true(e!.message.includes(`cannot make its data directory ${dataDir}`), e!.message);
  }
});
