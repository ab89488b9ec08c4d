/** Where a region's stream holds a record it took. */
export interface StreamPosition {
  readonly shardId: string;
  readonly sequenceNumber: string;
}
