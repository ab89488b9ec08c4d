import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  waitUntilStreamExists,
} from '@aws-sdk/client-kinesis';
import { hasErrorName } from '@records/errors';

/** Creates the stream when absent and waits until it is ACTIVE. */
export async function ensureStream(kinesis: KinesisClient, streamName: string, shardCount: number): Promise<void> {
  try {
    const { StreamDescriptionSummary } = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
  } catch (error) {
    if (!hasErrorName(error, 'ResourceNotFoundException')) throw error;
    try {
      await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
    } catch (createError) {
      if (!hasErrorName(createError, 'ResourceInUseException')) throw createError;
    }
  }
  await waitUntilStreamExists(
    { client: kinesis, maxWaitTime: 120, minDelay: 1, maxDelay: 2 },
    { StreamName: streamName },
  );
}
