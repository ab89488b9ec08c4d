import { Agent, createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * `forward` passes requests to moto_server. `refuse` drops every connection as it is accepted, so
 * the client gets no HTTP answer at all. `unavailable` answers 503 with a plain-text body, as a load
 * balancer or proxy in front of KMS does.
 */
export type KmsProxyMode = 'forward' | 'refuse' | 'unavailable';

/** A forward proxy in front of moto_server that a test switches down and up to stage a KMS outage. */
export class SwitchableKmsProxy {
  readonly url: string;
  readonly #server: Server;
  readonly #target: URL;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 });
  readonly #sockets = new Set<Socket>();
  #mode: KmsProxyMode = 'forward';
  #forwarded = 0;
  #turnedAway = 0;

  private constructor(server: Server, target: URL) {
    this.#server = server;
    this.#target = target;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Listens on a free loopback port and forwards to `target`. */
  static async start(target: string): Promise<SwitchableKmsProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new SwitchableKmsProxy(server, new URL(target));
    server.on('connection', (socket: Socket) => proxy.#accept(socket));
    server.on('request', (incoming: IncomingMessage, outgoing: ServerResponse) => proxy.#handle(incoming, outgoing));
    return proxy;
  }

  /** Requests passed on to moto_server. */
  get forwarded(): number {
    return this.#forwarded;
  }

  /** Connections dropped and requests answered 503 while down. */
  get turnedAway(): number {
    return this.#turnedAway;
  }

  switchTo(mode: KmsProxyMode): void {
    this.#mode = mode;
    // Kept-alive connections would otherwise carry on as before.
    for (const socket of this.#sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.#agent.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    if (this.#mode === 'refuse') {
      this.#turnedAway++;
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  #handle(incoming: IncomingMessage, outgoing: ServerResponse): void {
    if (this.#mode === 'refuse') {
      this.#turnedAway++;
      incoming.socket.destroy();
      return;
    }
    if (this.#mode === 'unavailable') {
      this.#turnedAway++;
      incoming.resume();
      outgoing.writeHead(503, { 'content-type': 'text/plain' });
      outgoing.end('Service Unavailable');
      return;
    }
    this.#forwarded++;
    const forwarded = request(
      {
        host: this.#target.hostname,
        port: this.#target.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, host: this.#target.host },
        agent: this.#agent,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', (error) => {
      outgoing.writeHead(502, { 'content-type': 'text/plain' });
      outgoing.end(`the KMS proxy could not reach moto_server: ${error.message}`);
    });
    incoming.pipe(forwarded);
  }
}
