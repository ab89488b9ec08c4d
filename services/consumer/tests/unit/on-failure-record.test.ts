import { describe, expect, it } from 'vitest';
import { parseOnFailureRecord } from '../../src/on-failure-redrive.js';

const info = {
  shardId: 'shardId-000000000001',
  startSequenceNumber: '49601189658422359378836298521827638475320189012309704722',
  endSequenceNumber: '49601189658422359378836298522902373528957594348623495186',
  approximateArrivalOfFirstRecord: '2026-12-06T00:38:04.835Z',
  approximateArrivalOfLastRecord: '2026-12-06T00:38:05.580Z',
  batchSize: 500,
  streamArn: 'arn:aws:kinesis:eu-west-1:123456789012:stream/records',
};

describe('Function: parseOnFailureRecord', () => {
  it('returns the shard, the sequence range, the stream and the size of the batch Lambda gave up on', () => {
    // Act
    const parsed = parseOnFailureRecord(
      JSON.stringify({ version: '1.0', requestContext: { condition: 'RecordAgeExceeded' }, KinesisBatchInfo: info }),
    );

    // Assess
    expect(parsed).toEqual({
      shardId: info.shardId,
      startSequenceNumber: info.startSequenceNumber,
      endSequenceNumber: info.endSequenceNumber,
      streamArn: info.streamArn,
      batchSize: 500,
    });
  });

  it.each([
    ['not JSON', 'not json'],
    ['JSON without KinesisBatchInfo', '{"SQSBatchInfo":{}}'],
    ['a sequence number that is not one', JSON.stringify({ KinesisBatchInfo: { ...info, endSequenceNumber: 'x' } })],
    ['no shard', JSON.stringify({ KinesisBatchInfo: { ...info, shardId: 7 } })],
    ['null', 'null'],
  ])('returns undefined for %s', (_what, body) => {
    // Act
    const parsed = parseOnFailureRecord(body);

    // Assess
    expect(parsed).toBeUndefined();
  });
});
