import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DynamoDBClient, PutItemCommand, type PutItemCommandInput } from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { KMS } from '@aws-sdk/client-kms';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, MiddlewareStack } from '@smithy/types';
import type { AwsService } from './aws-service.js';
import { JsonRpc, type JsonRpcService } from './json-rpc.js';
import { type AwsRequestObserver, requestObserverMiddleware } from './request-observer.js';

export type { AwsService };

/** One endpoint for every region, or one per region (dynalite runs an instance per region). */
export type EndpointOverride = string | Readonly<Record<string, string>>;

/**
 * Where the SDK retries and where we do. A call the application retries itself must not also be
 * retried inside the SDK: the SDK's hidden attempts would outlast the deadline our retry keeps, and
 * an attempt still in flight after the caller gave up can land after its answer was given.
 *
 * - Kinesis PutRecords (producer): our retry (`@records/retry` in MultiRegionPusher), within the
 *   request's deadline; each call is sent with that deadline's abort signal. SDK: 1 attempt.
 * - Kinesis GetRecords, ListShards, GetShardIterator (consumer): our retry in ShardReader and in the
 *   poller's lease round. SDK: 1 attempt.
 * - DynamoDB (consumer): our retry in TableWriter, DeadLetterStore and the lease round. SDK: 1 attempt.
 * - KMS: the Encryption SDK's keyring calls it through the data key cache, where many requests share
 *   one call and none can abort it; the cache retries after its back-off window. The SDK keeps a
 *   bounded number of attempts, each with its own request timeout, sized by the service so that one
 *   call ends about when the longest request budget does (the producer's `kmsClientBounds`).
 * - SQS (`pnpm redrive` reading the Lambda's on-failure queue): the SDK's defaults; a run that
 *   fails is run again.
 * - Anything not named here (provisioning, start-up) keeps the SDK's defaults.
 */
export interface AwsServiceSettings {
  /** Attempts the SDK makes per call, the first included; 1 when the application retries the call itself. */
  readonly maxAttempts?: number;
  /** Longest wait for an answer, per attempt. */
  readonly requestTimeoutMs?: number;
}

export interface AwsClientsOptions {
  /**
   * Endpoints that win over the SDK's own resolution. Leave a service out and the SDK resolves it
   * as usual: `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, then the real AWS endpoint.
   */
  readonly endpoints?: Partial<Record<AwsService, EndpointOverride>>;
  /** Leave unset for the SDK's default credential chain. */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  readonly maxAttempts?: number;
  /** Per service, over `maxAttempts` and `requestTimeoutMs`. */
  readonly services?: Partial<Record<AwsService, AwsServiceSettings>>;
  /** Sees every attempt of every request, for metrics. */
  readonly observer?: AwsRequestObserver;
  /** Longest wait for an answer, per attempt, before it fails as a timeout. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** The calls in HOT_OPERATIONS on the lean path (AWS_LEAN_CALLS); default true. False: every call through the SDK. */
  readonly leanCalls?: boolean;
}

interface ObservableClient {
  middlewareStack: MiddlewareStack<any, any>;
  config: unknown;
  send(command: unknown, options?: unknown): Promise<unknown>;
  destroy(): void;
}

interface HotOperation {
  readonly command: abstract new (...args: never[]) => { input: object };
  readonly operation: string;
  /** Whether this call's answer needs nothing of the SDK's output conversion but `output`. */
  readonly takes?: (input: object) => boolean;
  /** The SDK's reading of the members that are not plain JSON (blobs, timestamps). */
  readonly output?: (output: Record<string, unknown>) => void;
}

interface WireRecord {
  Data?: unknown;
  ApproximateArrivalTimestamp?: unknown;
}

/** GetRecords: each record's data from base64, its arrival time from epoch seconds, as the SDK reads them. */
function recordsFromWire(output: Record<string, unknown>): void {
  for (const record of (output.Records as WireRecord[] | undefined) ?? []) {
    if (typeof record.Data === 'string') record.Data = Buffer.from(record.Data, 'base64');
    if (typeof record.ApproximateArrivalTimestamp === 'number') {
      record.ApproximateArrivalTimestamp = new Date(Math.round(record.ApproximateArrivalTimestamp * 1000));
    }
  }
}

/**
 * The calls made once per record or per batch (the producer's puts, the consumer's reads and guarded writes), sent through the lean JSON-protocol path
 * (json-rpc.ts) instead of the SDK's per-call middleware; every other call goes through the SDK.
 * Both make one attempt here: the callers retry them (see AwsServiceSettings).
 */
const HOT_OPERATIONS: Readonly<Record<JsonRpcService, readonly HotOperation[]>> = {
  kinesis: [
    { command: PutRecordsCommand, operation: 'PutRecords' },
    { command: GetRecordsCommand, operation: 'GetRecords', output: recordsFromWire },
  ],
  dynamodb: [
    {
      command: PutItemCommand,
      operation: 'PutItem',
      // Returned attributes would need the SDK's conversion of binary values.
      takes: (input) => (input as PutItemCommandInput).ReturnValues === undefined,
    },
  ],
};

/**
 * The one place that builds AWS clients: region, endpoint and HTTP handler are decided here and
 * nowhere else. Clients are created once per service and region and reused.
 */
export class AwsClients {
  readonly #options: AwsClientsOptions;
  readonly #clients = new Map<string, ObservableClient>();
  // Plain HTTP/1.1 with keep-alive: the Kinesis client otherwise picks HTTP/2, which plain-HTTP emulators refuse.
  // One handler per request timeout; they share the connection pools.
  readonly #requestHandlers = new Map<number, NodeHttpHandler>();
  readonly #httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
  readonly #httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 64 });

  constructor(options: AwsClientsOptions = {}) {
    this.#options = options;
  }

  kinesis(region: string): KinesisClient {
    return this.#client('kinesis', region, (config) => new KinesisClient(config));
  }

  dynamodb(region: string): DynamoDBClient {
    return this.#client('dynamodb', region, (config) => new DynamoDBClient(config));
  }

  /** The aggregated KMS class: the Encryption SDK's keyrings call `client.generateDataKey(...)`. */
  kms(region: string): KMS {
    return this.#client('kms', region, (config) => new KMS(config));
  }

  sqs(region: string): SQSClient {
    return this.#client('sqs', region, (config) => new SQSClient(config));
  }

  /** The endpoint a service resolves to in a region, when one was given explicitly. */
  endpointFor(service: AwsService, region: string): string | undefined {
    const override = this.#options.endpoints?.[service];
    return typeof override === 'string' ? override : override?.[region];
  }

  destroy(): void {
    for (const client of this.#clients.values()) client.destroy();
    this.#clients.clear();
    for (const handler of this.#requestHandlers.values()) handler.destroy();
    this.#requestHandlers.clear();
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  #requestHandler(requestTimeoutMs: number): NodeHttpHandler {
    let handler = this.#requestHandlers.get(requestTimeoutMs);
    if (handler === undefined) {
      handler = new NodeHttpHandler({
        httpAgent: this.#httpAgent,
        httpsAgent: this.#httpsAgent,
        connectionTimeout: 5_000,
        // Without throwOnRequestTimeout the handler only logs a warning, and a silent endpoint holds
        // a request (and the batch or POST behind it) for as long as it stays silent.
        requestTimeout: requestTimeoutMs,
        throwOnRequestTimeout: true,
      });
      this.#requestHandlers.set(requestTimeoutMs, handler);
    }
    return handler;
  }

  #client<T extends ObservableClient>(
    service: AwsService,
    region: string,
    create: (config: {
      region: string;
      endpoint?: string;
      credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
      maxAttempts?: number;
      requestHandler: NodeHttpHandler;
    }) => T,
  ): T {
    const key = `${service}:${region}`;
    const existing = this.#clients.get(key);
    if (existing !== undefined) return existing as T;
    const endpoint = this.endpointFor(service, region);
    const settings = this.#options.services?.[service];
    const maxAttempts = settings?.maxAttempts ?? this.#options.maxAttempts;
    const client = create({
      region,
      requestHandler: this.#requestHandler(settings?.requestTimeoutMs ?? this.#options.requestTimeoutMs ?? 10_000),
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(this.#options.credentials === undefined ? {} : { credentials: this.#options.credentials }),
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
    });
    const observer = this.#options.observer;
    if (observer !== undefined) {
      client.middlewareStack.add(requestObserverMiddleware(service, region, observer), {
        // Innermost in finalizeRequest: inside the retry loop, outside the deserializer that turns
        // an error response into a thrown service error.
        step: 'finalizeRequest',
        priority: 'low',
        name: 'recordsRequestObserver',
      });
    }
    if ((service === 'kinesis' || service === 'dynamodb') && this.#options.leanCalls !== false) {
      this.#sendHotOperationsLean(client, service, observer);
    }
    this.#clients.set(key, client);
    return client;
  }

  #sendHotOperationsLean(client: ObservableClient, service: JsonRpcService, observer: AwsRequestObserver | undefined) {
    const rpc = new JsonRpc(client, service, observer);
    const operations = HOT_OPERATIONS[service];
    const send = client.send.bind(client);
    client.send = (command: unknown, options?: unknown) => {
      const hot = operations.find((candidate) => command instanceof candidate.command);
      const input = (command as { input: object }).input;
      if (hot === undefined || !(hot.takes?.(input) ?? true)) return send(command, options);
      return rpc.call(hot.operation, input, { ...(options as { abortSignal?: AbortSignal }), read: hot.output });
    };
  }
}
