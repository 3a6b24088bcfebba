import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from './postgres';

/**
 * A TCP proxy on 127.0.0.1 in front of a real server, that a test can cut (connections reset, port closed),
 * turn into a black hole (connections accepted, nothing forwarded), slow down (every packet from the server
 * held back) or restore, on the same port.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private mode: 'forward' | 'blackhole' = 'forward';
  private delayMs = 0;
  port = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target.host, target.port);
    await proxy.listen();
    return proxy;
  }

  /** The URL with its host and port replaced by this proxy's. */
  rewrite(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  /** Resets every open connection and closes the port: the database is gone. */
  async cut(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Keeps the port open but answers nothing: the database hangs. */
  async blackhole(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.mode = 'blackhole';
    if (!this.server) await this.listen();
  }

  /** Holds back every packet from the server for `ms`, on open connections too: the database crawls. */
  slow(ms: number): void {
    this.delayMs = ms;
  }

  /** Forwards again, on the same port, at full speed. */
  async restore(): Promise<void> {
    this.mode = 'forward';
    this.delayMs = 0;
    if (!this.server) await this.listen();
  }

  async stop(): Promise<void> {
    await this.cut();
  }

  private listen(): Promise<void> {
    const server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => client.destroy());
      if (this.mode === 'blackhole') return;
      const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
      this.sockets.add(upstream);
      upstream.on('close', () => {
        this.sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (this.delayMs === 0) return void client.write(chunk);
        upstream.pause();
        setTimeout(() => {
          if (!client.destroyed) client.write(chunk);
          upstream.resume();
        }, this.delayMs);
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        this.port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  }
}

/** A fresh test database reached through a TcpProxy, and the URL that goes through the proxy. */
export async function databaseBehindProxy(): Promise<{ db: TestDatabase; proxy: TcpProxy; url: string }> {
  const db = await createTestDatabase();
  const target = new URL(TEST_DATABASE_URL);
  const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  return { db, proxy, url: proxy.rewrite(db.url) };
}
