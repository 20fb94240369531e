/**
 * The link host: a small child process that owns serial ports for its parent. serialport's native binding
 * polls on the process's main event loop and crashes when used from a worker thread (ava runs tests in
 * worker threads; a harness may too), so every SerialLink of the harness lives here, in a main thread, and
 * the parent uses RemoteSerialLink (remote-link.ts) over IPC. A crash of the native binding takes down only
 * this process: the parent sees its links fail, an infrastructure error.
 *
 * IPC (advanced serialisation): requests {n, op: open|close|send|control|stats|withdraw, link, ...} answered
 * with {n, ok, error?, value?} ('withdraw' takes back the frame of send request `of` while it is still queued);
 * events {event: frame|ctl|state|trace, link, ...}. A unix socket serves synchronous CONTROL exchanges (see
 * exchangeSync in remote-link.ts): the parent blocks on a tiny client process while this host sends the CONTROL
 * messages and waits for their replies.
 */
import { createServer } from 'node:net';
import { LinkError } from '../link.ts';
import { SerialLink, type SerialLinkOptions } from './serial-link.ts';

export type HostRequest =
  | { n: number; op: 'open'; link: string; options: Omit<SerialLinkOptions, 'binding'> }
  | { n: number; op: 'close'; link: string }
  | { n: number; op: 'send'; link: string; frame: Uint8Array }
  | { n: number; op: 'control'; link: string; message: Uint8Array }
  | { n: number; op: 'stats'; link: string }
  | { n: number; op: 'withdraw'; link: string; of: number };

export type HostEvent =
  | { event: 'frame'; link: string; frame: Uint8Array }
  | { event: 'ctl'; link: string; message: Uint8Array }
  | { event: 'state'; link: string; state: string; error?: { kind: string; message: string } };

export interface SyncExchangeRequest {
  items: { link: string; id: number; message: string }[];
  timeoutMs: number;
}
export interface SyncExchangeReply {
  items: { link: string; id: number; reply?: unknown; error?: string }[];
}

export async function runLinkHost(socketPath: string): Promise<void> {
  const links = new Map<string, SerialLink>();
  const send = (m: unknown) => process.send?.(m);
  const waiters = new Map<string, (reply: unknown) => void>();
  /** Sends not yet settled, by request number: the parent may withdraw them. */
  const sending = new Map<number, AbortController>();

  const linkFor = (id: string, options?: Omit<SerialLinkOptions, 'binding'>): SerialLink => {
    let l = links.get(id);
    if (!l) {
      if (!options) throw new LinkError('closed', `no link ${id}`);
      l = new SerialLink(options);
      links.set(id, l);
      l.onFrame((frame) => send({ event: 'frame', link: id, frame } satisfies HostEvent));
      l.onControl((message) => {
        const w = waiters.size ? peekReply(id, message) : null;
        if (w) waiters.get(w.key)?.(w.reply);
        send({ event: 'ctl', link: id, message } satisfies HostEvent);
      });
      l.onState((state, error) => send({ event: 'state', link: id, state, ...(error ? { error: { kind: error.kind, message: error.message } } : {}) } satisfies HostEvent));
    }
    return l;
  };

  process.on('message', (raw) => {
    const r = raw as HostRequest;
    const answer = (p: Promise<unknown>) =>
      p.then(
        (value) => send({ n: r.n, ok: true, value }),
        (e: unknown) => send({ n: r.n, ok: false, error: { kind: e instanceof LinkError ? e.kind : 'error', message: (e as Error).message, range: e instanceof RangeError } }),
      );
    try {
      switch (r.op) {
        case 'open':
          return void answer(linkFor(r.link, r.options).open());
        case 'close':
          return void answer(links.get(r.link)?.close() ?? Promise.resolve());
        case 'send': {
          const l = linkFor(r.link);
          const withdraw = new AbortController();
          sending.set(r.n, withdraw);
          return void answer(l.send(r.frame, { signal: withdraw.signal }).finally(() => sending.delete(r.n)));
        }
        case 'withdraw':
          return void answer(Promise.resolve(sending.get(r.of)?.abort()));
        case 'control':
          return void answer(linkFor(r.link).sendControl(r.message));
        case 'stats':
          return void answer(Promise.resolve({ ...linkFor(r.link).stats }));
      }
    } catch (e) {
      answer(Promise.reject(e as Error));
    }
  });

  const peekReply = (link: string, message: Uint8Array): { key: string; reply: unknown } | null => {
    try {
      const m = JSON.parse(Buffer.from(message).toString('utf8')) as { op?: string; id?: number };
      if (m.op === 'reply' && typeof m.id === 'number' && waiters.has(`${link}/${m.id}`)) return { key: `${link}/${m.id}`, reply: m };
    } catch {
      // not ours
    }
    return null;
  };

  const exchange = async (req: SyncExchangeRequest): Promise<SyncExchangeReply> => {
    const items = await Promise.all(
      req.items.map(async (item) => {
        const key = `${item.link}/${item.id}`;
        let timer: NodeJS.Timeout | undefined;
        const reply = new Promise<unknown>((resolve, reject) => {
          timer = setTimeout(() => {
            waiters.delete(key);
            reject(new Error(`no answer within ${req.timeoutMs} ms`));
          }, req.timeoutMs);
          waiters.set(key, (m) => {
            clearTimeout(timer);
            waiters.delete(key);
            resolve(m);
          });
        });
        // Handled here at once: when the send fails first, nobody awaits the reply, and its timeout rejecting
        // unhandled would end this process, and with it every serial link of the run.
        reply.catch(() => undefined);
        try {
          await linkFor(item.link).sendControl(Buffer.from(item.message, 'utf8'));
          return { link: item.link, id: item.id, reply: await reply };
        } catch (e) {
          clearTimeout(timer);
          waiters.delete(key);
          return { link: item.link, id: item.id, error: (e as Error).message };
        }
      }),
    );
    return { items };
  };

  // Half-open: a client may close its side once it has sent its question.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('utf8');
      const end = text.indexOf('\n');
      if (end < 0) return;
      const req = JSON.parse(text.slice(0, end)) as SyncExchangeRequest;
      void exchange(req).then((reply) => socket.end(JSON.stringify(reply) + '\n'));
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  // The parent gone, nothing here has a reason to live.
  process.on('disconnect', () => {
    server.close();
    void Promise.all([...links.values()].map((l) => l.close())).finally(() => process.exit(0));
  });
  send({ event: 'ready' });
}
