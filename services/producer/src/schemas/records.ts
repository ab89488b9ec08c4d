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

/** `201` of POST /records: the record's id and its position in every region's stream. */
export const ingestResultSchema = {
  $id: 'IngestResult',
  type: 'object',
  required: ['id', 'regions'],
  properties: {
    id: { type: 'string' },
    regions: { type: 'object', additionalProperties: positionSchema, description: 'By region.' },
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
          regions: ingestResultSchema.properties.regions,
          error: { $ref: 'Error#/properties/error' },
        },
      },
    },
  },
} as const;
