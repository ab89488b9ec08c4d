import { ProducerErrors } from '../errors.js';

/** The one error shape: every 4xx and 5xx answer, whatever raised it. */
export const errorBodySchema = {
  $id: 'Error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(ProducerErrors), description: 'Stable; the README lists each.' },
        message: { type: 'string', description: 'For people; 5xx messages hide internals.' },
        id: { type: 'string', description: 'STREAM_UNAVAILABLE: the id to retry with.' },
        regions: {
          type: 'array',
          items: { type: 'string' },
          description: 'STREAM_UNAVAILABLE: the regions whose stream did not take the record.',
        },
        accepted: {
          type: 'array',
          items: { type: 'string' },
          description: 'STREAM_UNAVAILABLE: the regions whose stream holds it already.',
        },
      },
    },
  },
} as const;

const errorRef = { $ref: 'Error#' } as const;

/** The error answers every ingest route may give, by status. */
export const errorResponses = {
  400: errorRef,
  401: errorRef,
  408: errorRef,
  413: errorRef,
  415: errorRef,
  431: errorRef,
  500: errorRef,
  503: errorRef,
} as const;
