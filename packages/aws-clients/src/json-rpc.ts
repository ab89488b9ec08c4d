import { retry } from '@records/retry';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import type { EndpointV2, HttpResponse, Provider } from '@smithy/types';
import type { AwsService } from './aws-service.js';
import { isTransientAwsError } from './error-classification.js';
import type { AwsRequestObserver } from './request-observer.js';

/** The JSON-protocol services whose calls can take the lean path, with their wire names. */
const PROTOCOLS = {
  kinesis: { target: 'Kinesis_20131202', contentType: 'application/x-amz-json-1.1', signingName: 'kinesis' },
  dynamodb: { target: 'DynamoDB_20120810', contentType: 'application/x-amz-json-1.0', signingName: 'dynamodb' },
} as const;

export type JsonRpcService = keyof typeof PROTOCOLS;

/** What the lean path reads from an SDK client's resolved configuration: the SDK stays the source of truth. */
interface ResolvedClientConfig {
  region: Provider<string>;
  /** The client's MAX_ATTEMPTS (3 unless configured): the lean path makes as many, as the SDK's retry would. */
  maxAttempts?: Provider<number>;
  credentials: ConstructorParameters<typeof SignatureV4>[0]['credentials'];
  sha256: ConstructorParameters<typeof SignatureV4>[0]['sha256'];
  requestHandler: Pick<NodeHttpHandler, 'handle'>;
  endpoint?: Provider<{ protocol: string; hostname: string; port?: number; path: string }>;
  endpointProvider: (params: Record<string, unknown>) => EndpointV2;
  useFipsEndpoint: Provider<boolean>;
  useDualstackEndpoint: Provider<boolean>;
  /** \`AWS_ENDPOINT_URL_<SERVICE>\` or \`AWS_ENDPOINT_URL\`, as the SDK reads them when no endpoint was given. */
  serviceConfiguredEndpoint?: () => Promise<string | undefined>;
  ignoreConfiguredEndpointUrls?: boolean;
  signingEscapePath?: boolean;
  systemClockOffset?: number;
}

interface Target {
  readonly protocol: string;
  readonly hostname: string;
  readonly port: number | undefined;
  readonly path: string;
}

/** A service's error answer, shaped as the SDK shapes one, so the same classification applies. */
class AwsServiceError extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { httpStatusCode: number; requestId?: string };
  /** Set on an answer that said success but could not be read: worth trying again. */
  readonly $retryable?: { throttling: boolean };

  constructor(name: string, message: string, status: number, requestId: string | undefined) {
    super(message);
    this.name = name;
    this.$fault = status >= 500 || status < 300 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status, ...(requestId === undefined ? {} : { requestId }) };
    if (status < 300) this.$retryable = { throttling: false };
  }
}

function targetOf(url: URL): Target {
  return {
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port === '' ? undefined : Number(url.port),
    path: url.pathname,
  };
}

/** Buffers and typed arrays go out as base64, as the JSON protocols send blobs. */
function blobsAsBase64(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  if (original instanceof Uint8Array) {
    return Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64');
  }
  return value;
}

/** A member the service sends as null is absent, as the SDK reads it (kinesis-mock answers `"ErrorCode": null`). */
function withoutNulls(_key: string, value: unknown): unknown {
  return value === null ? undefined : value;
}

async function bodyText(response: HttpResponse): Promise<string> {
  const body = response.body as AsyncIterable<Buffer> | undefined;
  if (body === undefined) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** `com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException:...` → `ConditionalCheckFailedException`. */
function errorName(header: string | undefined, body: Record<string, unknown>): string {
  const raw = header ?? (typeof body.__type === 'string' ? body.__type : undefined) ?? (body.code as string);
  if (typeof raw !== 'string' || raw === '') return 'UnknownError';
  return raw.split(':')[0]?.split('#').pop() || 'UnknownError';
}

/**
 * One AWS JSON-protocol call per request, without the SDK's per-call machinery.
 *
 * Measured on the development machine, one PutRecords call of 16 records of 1.4 KB took 790 µs of
 * the caller's CPU through the SDK client (schema serde with its own base64, endpoint rules per
 * call, user agent, retry and auth middleware) and 340 µs on this path; a conditional PutItem,
 * once per record in the consumer, is the same story. So the calls made once per record or per
 * batch (`HOT_OPERATIONS` in aws-clients.ts) take this path, and every other call the SDK's.
 *
 * Only the wire framing is ours; the parts that matter are the SDK's own, read from the client's
 * resolved configuration: its credential chain, its endpoint (the override,
 * `AWS_ENDPOINT_URL_<SERVICE>`, or its endpoint rules), its SigV4 signer and hash, its HTTP handler (so the same connection pools, request
 * timeout and abort signal), and its clock offset. Errors come back as the SDK shapes them (name,
 * `$fault`, `$metadata.httpStatusCode`), so `isTransientAwsError` classifies them alike. A call
 * makes as many attempts as the client's `maxAttempts`, a transient failure (throttling, a server
 * fault, a reset or timed-out connection) tried again after the SDK's back-off (100 ms doubling,
 * with jitter, up to 20 s) and never past the caller's abort signal, as the SDK's retry would: a
 * hand-off write through a client left at the SDK's 3 attempts made only one on this path, and a
 * keep-alive connection the emulator had just closed then failed the record. Clients the callers
 * retry themselves (maxAttempts 1) make one attempt with nothing around it.
 */
export class JsonRpc {
  readonly #config: ResolvedClientConfig;
  readonly #protocol: (typeof PROTOCOLS)[JsonRpcService];
  readonly #service: AwsService;
  readonly #observer: AwsRequestObserver | undefined;
  #region: string | undefined;
  #attempts: number | undefined;
  #signer: SignatureV4 | undefined;
  #target: Promise<Target> | undefined;

  constructor(client: { config: unknown }, service: JsonRpcService, observer?: AwsRequestObserver) {
    this.#config = client.config as ResolvedClientConfig;
    this.#protocol = PROTOCOLS[service];
    this.#service = service;
    this.#observer = observer;
  }

  /** `read` turns the members that are not plain JSON (blobs, timestamps) into what the SDK gives. */
  async call<Output>(
    operation: string,
    input: object,
    options: {
      abortSignal?: AbortSignal | undefined;
      read?: ((output: Record<string, unknown>) => void) | undefined;
    } = {},
  ): Promise<Output> {
    const region = this.#region ?? (await this.#resolveRegion());
    const attempts = this.#attempts ?? (await this.#resolveAttempts());
    const attempt = async () => {
      // Each attempt is observed, as the SDK's observer middleware sits inside its retry loop.
      const started = process.hrtime.bigint();
      try {
        const output = await this.#send<Output>(operation, input, options.abortSignal);
        options.read?.(output as Record<string, unknown>);
        this.#observe(operation, region, started, undefined);
        return output;
      } catch (error) {
        this.#observe(operation, region, started, error);
        throw error;
      }
    };
    if (attempts <= 1) return attempt();
    return retry(attempt, {
      attempts,
      minDelayMs: 100,
      maxDelayMs: 20_000,
      shouldRetry: (error) => !options.abortSignal?.aborted && isTransientAwsError(error),
      ...(options.abortSignal === undefined ? {} : { signal: options.abortSignal }),
    });
  }

  async #resolveAttempts(): Promise<number> {
    this.#attempts = (await this.#config.maxAttempts?.()) ?? 1;
    return this.#attempts;
  }

  async #send<Output>(operation: string, input: object, abortSignal: AbortSignal | undefined): Promise<Output> {
    // Resolved once; a failed resolution (a config file read, say) is tried again on the next call.
    if (this.#target === undefined) {
      this.#target = this.#resolveTarget().catch((error: unknown) => {
        this.#target = undefined;
        throw error;
      });
    }
    const target = await this.#target;
    const body = JSON.stringify(input, blobsAsBase64);
    const request = {
      method: 'POST',
      protocol: target.protocol,
      hostname: target.hostname,
      ...(target.port === undefined ? {} : { port: target.port }),
      path: target.path,
      query: {},
      headers: {
        host: target.port === undefined ? target.hostname : `${target.hostname}:${target.port}`,
        'content-type': this.#protocol.contentType,
        'content-length': String(Buffer.byteLength(body)),
        'x-amz-target': `${this.#protocol.target}.${operation}`,
      } as Record<string, string>,
      body,
    };
    const signed = await this.#signerFor().sign(request, {
      signingDate: new Date(Date.now() + (this.#config.systemClockOffset ?? 0)),
    });
    const { response } = await this.#config.requestHandler.handle(
      signed as Parameters<NodeHttpHandler['handle']>[0],
      abortSignal === undefined ? {} : { abortSignal },
    );
    const text = await bodyText(response);
    const requestId = response.headers['x-amzn-requestid'];
    let parsed: Record<string, unknown>;
    try {
      parsed = (text === '' ? {} : JSON.parse(text, withoutNulls)) as Record<string, unknown>;
    } catch {
      // Not the service's answer (a proxy's or load balancer's page, or a cut-off body): an error
      // by its status, classified as the SDK would one without a service error name.
      throw new AwsServiceError(
        'UnparseableResponse',
        `HTTP ${response.statusCode} with a body that is not JSON`,
        response.statusCode,
        requestId,
      );
    }
    if (response.statusCode >= 300) {
      const message = (parsed.message ?? parsed.Message ?? '') as string;
      throw new AwsServiceError(
        errorName(response.headers['x-amzn-errortype'], parsed),
        message,
        response.statusCode,
        requestId,
      );
    }
    return { ...parsed, $metadata: { httpStatusCode: response.statusCode, requestId, attempts: 1 } } as Output;
  }

  async #resolveRegion(): Promise<string> {
    this.#region = await this.#config.region();
    return this.#region;
  }

  #signerFor(): SignatureV4 {
    this.#signer ??= new SignatureV4({
      credentials: this.#config.credentials,
      region: this.#region as string,
      service: this.#protocol.signingName,
      sha256: this.#config.sha256,
      uriEscapePath: this.#config.signingEscapePath ?? true,
    });
    return this.#signer;
  }

  async #resolveTarget(): Promise<Target> {
    const override = await this.#config.endpoint?.();
    if (override !== undefined) {
      return { protocol: override.protocol, hostname: override.hostname, port: override.port, path: override.path };
    }
    const configured = this.#config.ignoreConfiguredEndpointUrls
      ? undefined
      : await this.#config.serviceConfiguredEndpoint?.();
    if (configured !== undefined) return targetOf(new URL(configured));
    const { url } = this.#config.endpointProvider({
      Region: this.#region,
      UseFIPS: await this.#config.useFipsEndpoint(),
      UseDualStack: await this.#config.useDualstackEndpoint(),
      AccountIdEndpointMode: 'disabled',
    });
    return targetOf(url);
  }

  #observe(operation: string, region: string, started: bigint, error: unknown): void {
    if (this.#observer === undefined) return;
    const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const service = this.#service;
    if (error === undefined) {
      this.#observer({ service, operation, region, outcome: 'success', durationSeconds });
      return;
    }
    const errorName = error instanceof Error ? error.name : 'Unknown';
    const transient = isTransientAwsError(error);
    this.#observer({ service, operation, region, outcome: 'error', errorName, transient, durationSeconds });
  }
}
