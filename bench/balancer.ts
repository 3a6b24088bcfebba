import { createServer, connect, type Server, type Socket } from 'node:net';

/** A round-robin TCP balancer on loopback: each new connection goes to the next backend, as a Service would. */
export class Balancer {
  private constructor(
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    readonly url: string,
  ) {}

  static async start(backends: string[]): Promise<Balancer> {
    const targets = backends.map((b) => new URL(b));
    const sockets = new Set<Socket>();
    let next = 0;
    const server = createServer((client) => {
      const target = targets[next++ % targets.length];
      const upstream = connect(Number(target.port), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return new Balancer(server, sockets, `http://127.0.0.1:${port}`);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
