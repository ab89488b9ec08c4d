import { errorBodySchema } from './errors.js';
import { batchResultSchema, ingestResultSchema, recordSchema } from './records.js';

/** Referenced by `$id` from the routes' schemas; added to the app once. */
export const sharedSchemas = [errorBodySchema, recordSchema, ingestResultSchema, batchResultSchema] as const;
