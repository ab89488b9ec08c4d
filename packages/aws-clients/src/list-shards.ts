import { type KinesisClient, ListShardsCommand, type Shard } from '@aws-sdk/client-kinesis';

/**
 * Every shard Kinesis lists for the stream (open, and closed but still retained), over all pages:
 * the one ListShards loop of the pipeline. The Kinesis client ships no ListShards paginator (its
 * paginators cover ListStreams and ListStreamConsumers only), and a generic one cannot do what
 * ListShards asks: a later page must carry the NextToken without the StreamName.
 */
export async function listShards(
  kinesis: Pick<KinesisClient, 'send'>,
  streamName: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<Shard[]> {
  const shards: Shard[] = [];
  let nextToken: string | undefined;
  do {
    const page = await kinesis.send(
      new ListShardsCommand(nextToken === undefined ? { StreamName: streamName } : { NextToken: nextToken }),
      options,
    );
    shards.push(...(page.Shards ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return shards;
}
