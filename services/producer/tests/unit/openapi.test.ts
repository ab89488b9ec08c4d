import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ProducerErrors } from '../../src/errors.js';
import { appWith, realIngestor, unskewedClock } from './app-with.js';

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }>; securitySchemes?: unknown };
  security?: unknown;
}

describe('Route: GET /openapi.json', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => app?.close());

  it('documents every route from the schemas the routes validate with', async () => {
    // Prepare
    app = await appWith(realIngestor());

    // Act
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });

    // Assess
    expect(response.statusCode).toBe(200);
    const document = response.json<OpenApiDocument>();
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths).sort()).toEqual(['/healthz', '/readyz', '/records', '/records/batch']);
    const post = document.paths['/records']?.post;
    expect(JSON.stringify(post?.requestBody)).toContain('Record');
    expect(Object.keys(post?.responses ?? {})).toEqual(
      expect.arrayContaining(['201', '400', '401', '408', '413', '415', '431', '500', '503']),
    );
    expect(Object.keys(document.paths['/records/batch']?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(['201', '207', '413', '503']),
    );
    // Every code the producer can answer with is in the document, and no other.
    const error = document.components.schemas.Error?.properties?.error as { properties: { code: { enum: string[] } } };
    expect(error.properties.code.enum.sort()).toEqual(Object.keys(ProducerErrors).sort());
    // Each published schema is valid JSON Schema, its references resolve, and it says what the routes take.
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ components: document.components }, 'openapi');
    for (const name of Object.keys(document.components.schemas)) {
      expect(() => ajv.compile({ $ref: `openapi#/components/schemas/${name}` })).not.toThrow();
    }
    const isRecord = ajv.compile({ $ref: 'openapi#/components/schemas/Record' });
    expect([isRecord({ id: 'a', x: 1 }), isRecord({ id: '' }), isRecord([1])]).toEqual([true, false, false]);
  });

  it('documents the version of a 201, and of each accepted line of a batch, as the real answers give it', async () => {
    // Prepare
    app = await appWith(realIngestor());
    const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApiDocument>();
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ components: document.components }, 'openapi');
    const isIngestResult = ajv.compile({ $ref: 'openapi#/components/schemas/IngestResult' });
    const isBatchResult = ajv.compile({ $ref: 'openapi#/components/schemas/BatchResult' });

    // Act
    const one = await app.inject({ method: 'POST', url: '/records', payload: { id: 'a' } });
    const batch = await app.inject({
      method: 'POST',
      url: '/records/batch',
      payload: '{"id":"b"}\n{"id":"c"}',
      headers: { 'content-type': 'application/x-ndjson' },
    });

    // Assess
    expect(isIngestResult(one.json())).toBe(true);
    expect(isBatchResult(batch.json())).toBe(true);
    const [first, second] = batch.json().results as { version: string }[];
    expect(first?.version).not.toBe(second?.version);
    const { version: _version, ...withoutVersion } = one.json();
    expect(isIngestResult(withoutVersion)).toBe(false);
    expect(isIngestResult({ ...one.json(), version: '1764790000000-0-a1b2c3d4' })).toBe(false);
  });

  it('documents the Bearer scheme, and asks for a key itself, when API keys are configured', async () => {
    // Prepare
    const key = 'k'.repeat(32);
    app = await appWith(realIngestor(), { apiKeys: [key] });

    // Act
    const refused = await app.inject({ method: 'GET', url: '/openapi.json' });
    const allowed = await app.inject({
      method: 'GET',
      url: '/openapi.json',
      headers: { authorization: `Bearer ${key}` },
    });

    // Assess
    expect(refused.statusCode).toBe(401);
    const document = allowed.json<OpenApiDocument>();
    expect(document.components.securitySchemes).toEqual({ apiKey: { type: 'http', scheme: 'bearer' } });
    expect(document.security).toEqual([{ apiKey: [] }]);
  });
});

describe('Route: POST /records, validated by its schema', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => app?.close());

  it.each([
    ['a boolean id (never coerced to a string)', '{"id":true}'],
    ['a numeric id', '{"id":12}'],
    ['an empty id', '{"id":""}'],
    ['a blank id', '{"id":"  "}'],
    ['an id with a control character', '{"id":"a\\u0007b"}'],
    ['an object as id', '{"id":{"a":1}}'],
  ])('returns 400 INVALID_RECORD_ID for %s', async (_name, payload) => {
    // Prepare
    app = await appWith(realIngestor(), {});

    // Act
    const response = await app.inject({
      method: 'POST',
      url: '/records',
      payload,
      headers: { 'content-type': 'application/json' },
    });

    // Assess
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('INVALID_RECORD_ID');
  });

  it('keeps a large number exactly as posted through validation', async () => {
    // Prepare
    const plaintexts: string[] = [];
    const { createRecordIngestor } = await import('../../src/record-ingestor.js');
    app = await appWith(
      createRecordIngestor({
        streamName: 'records',
        pipelineAttribute: '_pipeline',
        requestBudgetMs: 10_000,
        encryptor: {
          encrypt: async (plaintext) => {
            plaintexts.push(Buffer.from(plaintext).toString('utf8'));
            return Uint8Array.from(plaintext);
          },
        },
        pusher: { push: async () => ({ regions: {}, pending: [] }) },
        ...unskewedClock(),
      }),
    );

    // Act
    const response = await app.inject({
      method: 'POST',
      url: '/records',
      payload: '{"id":"n","big":123456789012345678901234567890,"d":1.50}',
      headers: { 'content-type': 'application/json' },
    });

    // Assess
    expect(response.statusCode).toBe(201);
    expect(plaintexts).toHaveLength(1);
    expect(plaintexts[0]).toMatch(
      /^\{"id":"n","big":123456789012345678901234567890,"d":1\.50,"_pipeline":\{"version":"\d{18}-\d{6}-a1b2c3d4"\}\}$/,
    );
  });
});
