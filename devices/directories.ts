/**
 * Making the directories that emulators, rigs and the CLI write into: mkdir -p, one level at a time. node's
 * recursive mkdirSync never returns where mkdir answers ENOENT although the parent exists (under /proc or
 * /sys); one level at a time, that answer is an error like any other.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export function makeDirectory(path: string): void {
  const dir = resolve(path);
  if (isDirectory(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeDirectory(parent);
  try {
    mkdirSync(dir);
  } catch (e) {
    // Another process (a parallel CI job) may have made it since we looked.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !isDirectory(dir)) throw e;
  }
}

function isDirectory(dir: string): boolean {
  const existing = statSync(dir, { throwIfNoEntry: false });
  if (existing && !existing.isDirectory()) throw new Error(`ENOTDIR: ${dir} is not a directory`);
  return existing !== undefined;
}
