import { RECORD_VERSION_PATTERN } from '@records/record-item';

/** What one region's stream says of a record it took. */
const positionSchema = {
  type: 'object',
  required: ['shardId', 'sequenceNumber'],
  properties: {
    shardId: { type: 'string' },
    sequenceNumber: { type: 'string', description: 'A decimal integer of up to 128 bits.' },
  },
} as const;

/**
 * A record: one JSON object. Only `id` is constrained here; the producer also refuses what a table
 * cannot hold exactly (RECORD_NOT_STORABLE) and the reserved attribute (RESERVED_ATTRIBUTE).
 */
export const recordSchema = {
  $id: 'Record',
  type: 'object',
  description: 'Any JSON object in UTF-8. Numbers keep every digit. Without `id` the producer gives the record a UUID.',
  properties: {
    id: {
      type: 'string',
      minLength: 1,
      maxLength: 1024,
      // Not blank, and no control characters (an id travels in logs and error bodies).
      pattern: '^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$',
      description: 'At most 1,024 bytes of UTF-8.',
    },
  },
} as const;

/** The regions a record still waits for in hand-off. */
const pendingSchema = {
  type: 'array',
  items: { type: 'string' },
  description:
    'Regions whose stream has not taken the record yet. A durable hand-off entry delivers it there once the region takes writes again; nothing is to be retried.',
} as const;

/** The version the producer gave a record: fixed-width, so versions sort as text as they compare. */
const versionSchema = {
  type: 'string',
  pattern: RECORD_VERSION_PATTERN.source,
  description:
    'Milliseconds by the producer clock, a counter and the producer node id. A record posted after this one was answered gets a larger version, whichever producer takes it.',
} as const;

/** `201` of POST /records: the record's id and version, its position in each region's stream that took it, and the regions it waits for. */
export const ingestResultSchema = {
  $id: 'IngestResult',
  type: 'object',
  required: ['id', 'version', 'regions', 'pending'],
  properties: {
    id: { type: 'string' },
    version: versionSchema,
    regions: { type: 'object', additionalProperties: positionSchema, description: 'By region.' },
    pending: pendingSchema,
  },
} as const;

/** POST /records/batch: every line's outcome, in order. */
export const batchResultSchema = {
  $id: 'BatchResult',
  type: 'object',
  required: ['accepted', 'failed', 'results'],
  properties: {
    accepted: { type: 'integer' },
    failed: { type: 'integer' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['status'],
        properties: {
          status: { type: 'integer', description: '201, or the status POST /records would have answered.' },
          id: { type: 'string' },
          version: versionSchema,
          regions: ingestResultSchema.properties.regions,
          pending: pendingSchema,
          error: { $ref: 'Error#/properties/error' },
        },
      },
    },
  },
} as const;
