/**
 * HTTP/1.1 over a bare socket, for requests fetch will not send: lying Content-Length, conflicting framing
 * headers, bodies that stop half-way or trickle in, header floods. The answer is parsed just enough to assert
 * on (status line, headers, body), or reported as the server closing the connection without one.
 */
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  /** null when the server closed the connection without answering. */
  status: number | null;
  headers: Record<string, string>;
  body: string;
}

function target(baseUrl: string): { host: string; port: number } {
  const u = new URL(baseUrl);
  return { host: u.hostname, port: Number(u.port) };
}

function parse(raw: Buffer): RawAnswer {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (!m || end < 0) return { status: null, headers: {}, body: text };
  const headers: Record<string, string> = {};
  for (const line of text.slice(0, end).split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = raw.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
  if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status: Number(m[1]), headers, body: body.toString('utf8') };
}

/** A socket to the server that collects everything it answers until it closes (or `close()` is called). */
export class RawConnection {
  private readonly socket: Socket;
  private readonly chunks: Buffer[] = [];
  readonly closed: Promise<RawAnswer>;

  constructor(baseUrl: string) {
    const { host, port } = target(baseUrl);
    this.socket = connect({ host, port });
    this.socket.on('data', (c: Buffer) => this.chunks.push(c));
    this.closed = new Promise((resolve) => {
      this.socket.once('close', () => resolve(parse(Buffer.concat(this.chunks))));
      this.socket.once('error', () => undefined);
    });
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (e) => (e ? reject(e) : resolve())));
  }

  /** What has arrived so far, parsed (for a connection the server keeps open). */
  received(): RawAnswer {
    return parse(Buffer.concat(this.chunks));
  }

  /** Waits until an answer with a full head has arrived or the connection closed. */
  async answer(pollMs = 20, maxMs = 60_000): Promise<RawAnswer> {
    const deadline = Date.now() + maxMs;
    let done = false;
    void this.closed.then(() => (done = true));
    while (!done && Date.now() < deadline) {
      const a = this.received();
      if (a.status !== null && (a.headers['content-length'] === undefined || Buffer.byteLength(a.body) >= Number(a.headers['content-length']))) return a;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return this.received();
  }

  /** Half-closes: the server sees the end of the request stream. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Sends bytes as they are, half-closes, and returns what the server answered before closing. */
export async function rawExchange(baseUrl: string, request: string | Buffer): Promise<RawAnswer> {
  const c = new RawConnection(baseUrl);
  await c.write(request);
  const a = await c.answer();
  c.destroy();
  return a;
}

/** A request head for a DUIS path (Content-Length as given, or the body's length). */
export function head(path: string, o: { contentType?: string | null; contentLength?: number | null; extra?: string[] } = {}): string {
  const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  if (o.contentType !== null) lines.push(`Content-Type: ${o.contentType ?? 'application/xml'}`);
  if (o.contentLength !== null && o.contentLength !== undefined) lines.push(`Content-Length: ${o.contentLength}`);
  lines.push(...(o.extra ?? []), 'Connection: close');
  return lines.join('\r\n') + '\r\n\r\n';
}
