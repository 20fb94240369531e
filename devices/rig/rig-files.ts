/**
 * The files a rig writes as it works (leases, device logs, frame recordings). A directory or file that cannot be
 * used is a RigSetupError as soon as it is opened, before anything runs; a write that fails later (a full disk)
 * is a process warning, once per file, rather than output lost in silence.
 */
import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { makeDirectory } from '../directories.ts';

/** A rig's set-up cannot be used as given: a reason for whoever runs it, not a bug. */
export class RigSetupError extends Error {
  override readonly name = 'RigSetupError';
}

/** Makes a directory the rig keeps files in. */
export function rigDirectory(dir: string, what: string): string {
  try {
    makeDirectory(dir);
  } catch (e) {
    throw new RigSetupError(`cannot keep ${what} in ${dir}: ${(e as Error).message}`);
  }
  return dir;
}

/** Opens a file to append to, now. */
export function appendStream(path: string, what: string): WriteStream {
  let fd: number;
  try {
    makeDirectory(dirname(path));
    fd = openSync(path, 'a');
  } catch (e) {
    throw new RigSetupError(`cannot write ${what} ${path}: ${(e as Error).message}`);
  }
  const stream = createWriteStream(path, { fd });
  let warned = false;
  stream.on('error', (e) => {
    if (warned) return;
    warned = true;
    process.emitWarning(`${what} ${path} is incomplete: ${e.message}`, 'RigOutputWarning');
  });
  return stream;
}
