import { Agent, createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One KMS request as it passed the proxy. */
export interface KmsCall {
  /** From `X-Amz-Target`, e.g. `GenerateDataKey`. */
  readonly operation: string;
  /** From the credential scope of the `Authorization` header. */
  readonly region: string;
  /** True when the proxy answered with an error instead of forwarding. */
  readonly refused: boolean;
}

export interface CallFilter {
  readonly operation?: string;
  readonly region?: string;
}

const CREDENTIAL_SCOPE = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/kms\//;

/**
 * Sits between the KMS clients and moto_server and records every request by operation and region,
 * so tests count the KMS calls that reach the emulator rather than trusting the cache's own
 * counters. It can be told to refuse requests (all, or those matching a filter) to stage an outage.
 */
export class RecordingKmsProxy {
  readonly url: string;
  readonly #server: Server;
  readonly #target: URL;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 });
  readonly #calls: KmsCall[] = [];
  #refusing: CallFilter | undefined;

  private constructor(server: Server, target: URL) {
    this.#server = server;
    this.#target = target;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Listens on a free loopback port and forwards to `target` (moto_server's endpoint). */
  static async start(target: string): Promise<RecordingKmsProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new RecordingKmsProxy(server, new URL(target));
    server.on('request', (incoming: IncomingMessage, outgoing: ServerResponse) => proxy.#handle(incoming, outgoing));
    return proxy;
  }

  /** Requests forwarded to moto that match the filter. */
  count(filter: CallFilter = {}): number {
    return this.#calls.filter((call) => !call.refused && matches(call, filter)).length;
  }

  /** Requests answered with an error that match the filter. */
  refusedCount(filter: CallFilter = {}): number {
    return this.#calls.filter((call) => call.refused && matches(call, filter)).length;
  }

  /** Answers matching requests (every request without a filter) with a KMS internal error. */
  refuse(filter: CallFilter = {}): void {
    this.#refusing = filter;
  }

  /** Forwards every request again. */
  restore(): void {
    this.#refusing = undefined;
  }

  resetCounts(): void {
    this.#calls.length = 0;
  }

  async close(): Promise<void> {
    this.#agent.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(incoming: IncomingMessage, outgoing: ServerResponse): void {
    const target = String(incoming.headers['x-amz-target'] ?? '');
    const operation = target.slice(target.indexOf('.') + 1) || 'Unknown';
    const region = CREDENTIAL_SCOPE.exec(String(incoming.headers.authorization ?? ''))?.[1] ?? 'unknown';
    const refused = this.#refusing !== undefined && matches({ operation, region }, this.#refusing);
    this.#calls.push({ operation, region, refused });
    if (refused) {
      incoming.resume();
      outgoing.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
      outgoing.end(
        JSON.stringify({ __type: 'KMSInternalException', message: 'The recording proxy refused the request' }),
      );
      return;
    }
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
      outgoing.end(`recording proxy could not reach moto: ${error.message}`);
    });
    incoming.pipe(forwarded);
  }
}

function matches(call: { operation: string; region: string }, filter: CallFilter): boolean {
  return (
    (filter.operation === undefined || call.operation === filter.operation) &&
    (filter.region === undefined || call.region === filter.region)
  );
}
