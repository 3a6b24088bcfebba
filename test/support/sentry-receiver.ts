import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';

export interface EnvelopeItem {
  type: string;
  payload: Record<string, unknown>;
}

/**
 * A Sentry ingest on 127.0.0.1: receives the SDK's envelopes over real HTTP and keeps their items. It can
 * answer slowly or not at all, to play a struggling Sentry.
 */
export class SentryReceiver {
  readonly items: EnvelopeItem[] = [];
  readonly rawBodies: string[] = [];
  delayMs = 0;
  /** The status the ingest answers with (429 or 500 play a Sentry that rejects). */
  status = 200;
  private hanging: ServerResponse[] = [];
  private hang = false;
  private server!: Server;
  port = 0;

  static async start(): Promise<SentryReceiver> {
    const receiver = new SentryReceiver();
    receiver.server = createServer((req, res) => receiver.handle(req, res));
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.port = (receiver.server.address() as { port: number }).port;
    return receiver;
  }

  get dsn(): string {
    return `http://publickey@127.0.0.1:${this.port}/1`;
  }

  events(): Array<Record<string, unknown>> {
    return this.items.filter((item) => item.type === 'event').map((item) => item.payload);
  }

  transactions(): Array<Record<string, unknown>> {
    return this.items.filter((item) => item.type === 'transaction').map((item) => item.payload);
  }

  /** Holds every request open until release(). */
  hangRequests(): void {
    this.hang = true;
  }

  /** New requests are answered again; those already held stay held, as on a server that lost them. */
  stopHanging(): void {
    this.hang = false;
  }

  release(): void {
    this.hang = false;
    for (const res of this.hanging.splice(0)) res.end('{}');
  }

  async waitFor<T>(read: () => T[], count: number, timeoutMs = 10_000): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = read();
      if (found.length >= count) return found;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`expected ${count} items, got ${read().length}`);
  }

  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const text = body.toString('utf8');
      this.rawBodies.push(text);
      this.parse(text);
      if (this.hang) return void this.hanging.push(res);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      // A refusing ingest asks the SDK to wait one second, the shortest Sentry's rate limiter takes.
      if (this.status === 429) headers['retry-after'] = '1';
      setTimeout(() => res.writeHead(this.status, headers).end('{}'), this.delayMs);
    });
  }

  private parse(text: string): void {
    const lines = text.split('\n');
    for (let i = 1; i + 1 < lines.length; i += 2) {
      if (!lines[i]) continue;
      const header = JSON.parse(lines[i]) as { type: string };
      try {
        this.items.push({ type: header.type, payload: JSON.parse(lines[i + 1]) as Record<string, unknown> });
      } catch {
        this.items.push({ type: header.type, payload: { unparsed: lines[i + 1] } });
      }
    }
  }
}
