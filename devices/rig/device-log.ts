/**
 * One log file per rig device: append-only, one timestamped line per entry, written through one stream per
 * file so lines of a device are never split or reordered, and lines of different devices never share a file.
 */
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { appendStream, rigDirectory } from './rig-files.ts';

export class DeviceLog {
  private readonly stream: WriteStream;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.stream = appendStream(path, 'the device log');
  }

  /** Appends one line (newlines inside it are escaped, so an entry stays one line). */
  line(text: string): void {
    if (this.closed) return;
    this.stream.write(`${this.now().toISOString()} ${text.replaceAll('\n', '\\n')}\n`);
  }

  /** Resolves when everything written so far is in the file. */
  flush(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.stream.write('', () => resolve()));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}

/** The log files of a rig's devices, one per device id. */
export class DeviceLogs {
  private readonly logs = new Map<string, DeviceLog>();

  constructor(readonly dir: string) {
    rigDirectory(dir, 'device logs');
  }

  for(device: string): DeviceLog {
    let l = this.logs.get(device);
    if (!l) this.logs.set(device, (l = new DeviceLog(join(this.dir, `${device}.log`))));
    return l;
  }

  async close(): Promise<void> {
    await Promise.all([...this.logs.values()].map((l) => l.close()));
    this.logs.clear();
  }
}
