import { PipelineError } from '@records/pipeline-config';

export class ProducerError extends PipelineError {}

/** The request body is not a record the pipeline can take: a 4xx the client must fix. */
export class InvalidRecordError extends ProducerError {
  constructor(code: 'INVALID_RECORD_ID', message: string) {
    super(code, message);
  }
}

/** The body's media type or charset is not JSON in UTF-8. */
export class UnsupportedMediaTypeError extends ProducerError {
  constructor(message: string) {
    super('UNSUPPORTED_MEDIA_TYPE', message);
  }
}

/**
 * The record could not be put to every region's stream. Nothing was acknowledged, so the client
 * retries with the same `id`; regions that already took it will be written again, idempotently.
 */
export class StreamUnavailableError extends ProducerError {
  readonly id: string;
  readonly failedRegions: readonly string[];

  constructor(id: string, failedRegions: readonly string[], options?: { cause?: unknown }) {
    super('STREAM_UNAVAILABLE', `the stream in ${failedRegions.join(', ')} did not take the record`, options);
    this.id = id;
    this.failedRegions = failedRegions;
  }
}
