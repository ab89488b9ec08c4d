import { Agent, createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One KMS request as it passed the proxy. */
export interface KmsCall {
  /** From `X-Amz-Target`, e.g. `GenerateDataKey`. */
  readonly operation: string;
  /** From the credential scope of the `Authorization` header. */
  readonly region: string;
  /** True when the proxy answered with an error instead of forwarding (or dropped it, abandoned). */
  readonly refused: boolean;
  /** True for a held or delayed request whose client had gone when its turn came: never forwarded. */
  readonly abandoned?: boolean;
}

/** A request the proxy keeps back, its body read, until it is released. */
interface Deferred {
  readonly operation: string;
  readonly region: string;
  readonly incoming: IncomingMessage;
  readonly outgoing: ServerResponse;
  readonly body: Promise<Buffer>;
  clientGone: boolean;
}

export interface CallFilter {
  readonly operation?: string;
  readonly region?: string;
}

/**
 * `forward` passes requests on. `refuse` drops every connection as it is accepted, so the client
 * gets no HTTP answer at all. `unavailable` answers 503 with a plain-text body, as a load balancer
 * in front of KMS does. `silent` takes requests and never answers. `refuse(filter)` answers matching
 * requests with KMS's own internal error, or with the error `answer` names.
 */
export type KmsProxyMode = 'forward' | 'refuse' | 'unavailable' | 'silent';

/** An error answer in the service's own JSON shape, e.g. `{ status: 400, type: 'ExpiredTokenException' }`. */
export interface ErrorAnswer {
  readonly status: number;
  readonly type: string;
}

const INTERNAL_ERROR: ErrorAnswer = { status: 500, type: 'KMSInternalException' };

// Any service's scope: the proxy also stands in front of dynalite, to stage a DynamoDB outage.
const CREDENTIAL_SCOPE = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/[a-z0-9]+\//;

function matches(call: { operation: string; region: string }, filter: CallFilter): boolean {
  return (
    (filter.operation === undefined || call.operation === filter.operation) &&
    (filter.region === undefined || call.region === filter.region)
  );
}

/**
 * A forward proxy between KMS clients and moto_server, for tests and the benchmark. It records
 * every request by operation and region, so KMS calls are counted where they reach the emulator
 * rather than by the code under test, and it stages outages: refusals, silence, late answers
 * (`delay`), and calls held back then let through (`hold`, `release`). It is no emulator: every
 * answer that is not an outage comes from moto (or kinesis-local, or dynalite, when it stands in
 * front of them).
 */
export class KmsProxy {
  readonly url: string;
  readonly #server: Server;
  readonly #target: URL;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 });
  readonly #sockets = new Set<Socket>();
  readonly #calls: KmsCall[] = [];
  #mode: KmsProxyMode = 'forward';
  #refusing: CallFilter | undefined;
  #refuseAfter = 0;
  #answer: ErrorAnswer = INTERNAL_ERROR;
  #failingEntries = 0;
  #droppedConnections = 0;
  /** One region cut off while the others go on, as a regional outage looks to a multi-region client. */
  #cut: { region: string; mode: 'refuse' | 'silent' } | undefined;
  /** Requests held by a silent cut, dropped when it ends, as a connection that timed out. */
  readonly #cutHeld = new Set<IncomingMessage>();
  #holding: CallFilter | undefined;
  #holdCalls = 0;
  readonly #held: Deferred[] = [];
  #delay: { readonly ms: number; readonly filter: CallFilter } | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(server: Server, target: URL) {
    this.#server = server;
    this.#target = target;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Listens on a free loopback port and forwards to `target` (moto_server's endpoint). */
  static async start(target: string): Promise<KmsProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new KmsProxy(server, new URL(target));
    server.on('connection', (socket: Socket) => proxy.#accept(socket));
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

  /** Requests forwarded to moto. */
  get forwarded(): number {
    return this.count();
  }

  /** Connections dropped and requests answered with an error. */
  get turnedAway(): number {
    return this.#droppedConnections + this.refusedCount();
  }

  /**
   * Answers matching requests (every request without a filter) with a KMS internal error, once
   * `after` of them have been forwarded since this call.
   */
  refuse(filter: CallFilter = {}, options: { after?: number; answer?: ErrorAnswer } = {}): void {
    this.#refusing = filter;
    this.#answer = options.answer ?? INTERNAL_ERROR;
    this.#refuseAfter = this.count(filter) + (options.after ?? 0);
  }

  switchTo(mode: KmsProxyMode): void {
    // Kept-alive connections would otherwise carry on as before a refusal.
    if (mode === 'refuse' && this.#mode !== 'refuse') for (const socket of this.#sockets) socket.destroy();
    this.#mode = mode;
  }

  /**
   * In front of Kinesis: the next `calls` PutRecords calls lose every other entry (the 2nd, 4th, …):
   * those entries are not forwarded, and come back failed with ProvisionedThroughputExceededException,
   * as Kinesis answers a partly throttled call. The other entries are written.
   */
  failEveryOtherEntry(calls: number): void {
    this.#failingEntries = calls;
  }

  /**
   * Cuts only `region`'s requests (by their credential scope): `refuse` drops the connection as
   * soon as the request is read, `silent` takes the request and never answers.
   */
  cutRegion(region: string, mode: 'refuse' | 'silent'): void {
    this.#cut = { region, mode };
  }

  /**
   * Keeps matching requests back (their bodies read) until `release()`, as a congested network or
   * a retry queue would: the next `calls` of them, or all. A request whose client has gone by then
   * (it aborted) is never forwarded.
   */
  hold(filter: CallFilter = {}, options: { calls?: number } = {}): void {
    this.#holding = filter;
    this.#holdCalls = options.calls ?? Number.POSITIVE_INFINITY;
  }

  /** Requests being held now. */
  get heldCount(): number {
    return this.#held.length;
  }

  /**
   * Forwards every held request whose client still waits, and stops holding. With
   * `evenIfAbandoned`, a request whose client has gone is forwarded too (its answer goes nowhere),
   * as a service that had read a request in full may still apply it after the client aborted.
   */
  release(options: { evenIfAbandoned?: boolean } = {}): void {
    this.#holding = undefined;
    for (const deferred of this.#held.splice(0)) this.#forwardDeferred(deferred, options.evenIfAbandoned ?? false);
  }

  /**
   * Answers matching requests `ms` late: each is forwarded that long after it arrived, if its
   * client still waits then (a client that timed out is not answered, as KMS would not reach it).
   */
  delay(ms: number, filter: CallFilter = {}): void {
    this.#delay = { ms, filter };
  }

  /** Requests that were held or delayed and whose client had gone when their turn came. */
  abandonedCount(filter: CallFilter = {}): number {
    return this.#calls.filter((call) => call.abandoned === true && matches(call, filter)).length;
  }

  /** Forwards every request again, releasing those held; requests already delayed keep their delay. */
  restore(): void {
    this.#cut = undefined;
    for (const held of this.#cutHeld) held.socket.destroy();
    this.#cutHeld.clear();
    this.#refusing = undefined;
    this.#failingEntries = 0;
    this.#delay = undefined;
    this.release();
    this.switchTo('forward');
  }

  resetCounts(): void {
    this.#calls.length = 0;
    this.#droppedConnections = 0;
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#held.length = 0;
    this.#agent.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Forwards a PutRecords call without every other entry, and answers those entries as throttled. */
  #partlyFail(incoming: IncomingMessage, outgoing: ServerResponse): void {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Records: unknown[] };
      const failed = new Set(call.Records.map((_, index) => index).filter((index) => index % 2 === 1));
      const throttled = { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded (proxy)' };
      const kept = call.Records.filter((_, index) => !failed.has(index));
      const answer = (written: unknown[]) => {
        const records = call.Records.map((_, index) => (failed.has(index) ? throttled : written.shift()));
        outgoing.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        outgoing.end(JSON.stringify({ FailedRecordCount: failed.size, Records: records }));
      };
      if (kept.length === 0) {
        answer([]);
        return;
      }
      const body = Buffer.from(JSON.stringify({ ...call, Records: kept }));
      const headers = { ...incoming.headers, host: this.#target.host, 'content-length': String(body.byteLength) };
      const forwarded = request(
        {
          host: this.#target.hostname,
          port: this.#target.port,
          method: 'POST',
          path: incoming.url,
          headers,
          agent: this.#agent,
        },
        (reply) => {
          const parts: Buffer[] = [];
          reply.on('data', (chunk: Buffer) => parts.push(chunk));
          reply.on('end', () => {
            const written =
              (JSON.parse(Buffer.concat(parts).toString('utf8')) as { Records?: unknown[] }).Records ?? [];
            answer([...written]);
          });
        },
      );
      forwarded.on('error', (error) => {
        outgoing.writeHead(502, { 'content-type': 'text/plain' });
        outgoing.end(`the proxy could not reach its target: ${error.message}`);
      });
      forwarded.end(body);
    });
  }

  #defer(operation: string, region: string, incoming: IncomingMessage, outgoing: ServerResponse): Deferred {
    const body = new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => resolve(Buffer.concat(chunks)));
    });
    const deferred: Deferred = { operation, region, incoming, outgoing, body, clientGone: false };
    // Before the answer is written, a close means the client stopped waiting (it aborted or timed out).
    outgoing.once('close', () => {
      if (!outgoing.writableEnded) deferred.clientGone = true;
    });
    return deferred;
  }

  #forwardDeferred(deferred: Deferred, evenIfAbandoned = false): void {
    const { operation, region, incoming, outgoing } = deferred;
    const abandoned = deferred.clientGone || outgoing.destroyed;
    if (abandoned && !evenIfAbandoned) {
      this.#calls.push({ operation, region, refused: true, abandoned: true });
      return;
    }
    this.#calls.push({ operation, region, refused: false, ...(abandoned ? { abandoned } : {}) });
    void deferred.body.then((body) => {
      const forwarded = request(
        {
          host: this.#target.hostname,
          port: this.#target.port,
          method: incoming.method,
          path: incoming.url,
          headers: { ...incoming.headers, host: this.#target.host, 'content-length': String(body.byteLength) },
          agent: this.#agent,
        },
        (answer) => {
          if (outgoing.destroyed) {
            answer.resume();
            return;
          }
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forwarded.on('error', (error) => {
        if (outgoing.headersSent || outgoing.destroyed) return;
        outgoing.writeHead(502, { 'content-type': 'text/plain' });
        outgoing.end(`the proxy could not reach its target: ${error.message}`);
      });
      forwarded.end(body);
    });
  }

  #accept(socket: Socket): void {
    if (this.#mode === 'refuse') {
      this.#droppedConnections++;
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  #handle(incoming: IncomingMessage, outgoing: ServerResponse): void {
    if (this.#mode === 'refuse') {
      this.#droppedConnections++;
      incoming.socket.destroy();
      return;
    }
    const target = String(incoming.headers['x-amz-target'] ?? '');
    const operation = target.slice(target.indexOf('.') + 1) || 'Unknown';
    const region = CREDENTIAL_SCOPE.exec(String(incoming.headers.authorization ?? ''))?.[1] ?? 'unknown';
    const refusing = this.#refusing;
    if (this.#cut !== undefined && this.#cut.region === region) {
      this.#calls.push({ operation, region, refused: true });
      if (this.#cut.mode === 'refuse') {
        this.#droppedConnections++;
        incoming.socket.destroy();
      } else {
        this.#cutHeld.add(incoming);
        incoming.once('close', () => this.#cutHeld.delete(incoming));
        incoming.resume();
      }
      return;
    }
    if (this.#mode === 'silent') {
      // Read the request, answer nothing; the connection closes with the proxy.
      this.#calls.push({ operation, region, refused: true });
      incoming.resume();
      return;
    }
    const delay = this.#delay;
    if (this.#holding !== undefined && this.#holdCalls > 0 && matches({ operation, region }, this.#holding)) {
      this.#holdCalls--;
      this.#held.push(this.#defer(operation, region, incoming, outgoing));
      return;
    }
    if (delay !== undefined && matches({ operation, region }, delay.filter)) {
      const deferred = this.#defer(operation, region, incoming, outgoing);
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#forwardDeferred(deferred);
      }, delay.ms);
      this.#timers.add(timer);
      return;
    }
    const refused =
      this.#mode === 'unavailable' ||
      (refusing !== undefined && matches({ operation, region }, refusing) && this.count(refusing) >= this.#refuseAfter);
    this.#calls.push({ operation, region, refused });
    if (refused) {
      incoming.resume();
      if (this.#mode === 'unavailable') {
        outgoing.writeHead(503, { 'content-type': 'text/plain' });
        outgoing.end('Service Unavailable');
      } else {
        outgoing.writeHead(this.#answer.status, { 'content-type': 'application/x-amz-json-1.1' });
        outgoing.end(JSON.stringify({ __type: this.#answer.type, message: 'The proxy refused the request' }));
      }
      return;
    }
    if (operation === 'PutRecords' && this.#failingEntries > 0) {
      this.#failingEntries--;
      this.#partlyFail(incoming, outgoing);
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
      outgoing.end(`the KMS proxy could not reach moto_server: ${error.message}`);
    });
    incoming.pipe(forwarded);
  }
}
