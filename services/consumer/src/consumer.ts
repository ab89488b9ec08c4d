import { LeaseStore } from './lease-store.js';
import { createPoller, type Poller } from './poller.js';
import { createRecordPipeline, type RecordPipelineDeps } from './record-pipeline.js';

export type ConsumerDeps = RecordPipelineDeps;

export interface Consumer {
  readonly poller: Poller;
  /** Stops reading, after the current batches, and drops the cached data keys. */
  stop(): Promise<void>;
}

/** One region's long-running consumer: the record pipeline, and the poller over the region's shards. */
export function createConsumer(deps: ConsumerDeps): Consumer {
  const { config, clients, logger } = deps;
  const { pipeline, region } = config;
  const records = createRecordPipeline(deps);
  const poller = createPoller({
    kinesis: clients.kinesis(region),
    streamName: pipeline.streamName,
    region,
    processBatch: records.processorFor(pipeline.streamName),
    leases: new LeaseStore({
      dynamodb: clients.dynamodb(region),
      tableName: pipeline.checkpointTableName,
      streamName: pipeline.streamName,
    }),
    workerId: config.workerId,
    leaseDurationMs: config.leaseDurationMs,
    metrics: records.metrics,
    logger,
    getRecordsLimit: config.getRecordsLimit,
    idlePollMs: config.idlePollMs,
    shardDiscoveryIntervalMs: config.shardDiscoveryIntervalMs,
    batchBoundMs: config.batchStallMs,
  });
  return {
    poller,
    async stop() {
      // A second before the process's own grace ends: the releases still get written.
      await poller.stop(Math.max(0, config.shutdownGraceMs - 1_000));
      records.close();
    },
  };
}
