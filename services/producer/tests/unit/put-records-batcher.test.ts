import {
  type KinesisClient,
  ListShardsCommand,
  type PutRecordsCommand,
  type PutRecordsCommandOutput,
} from '@aws-sdk/client-kinesis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PutRecordsBatcher, PutRecordsEntryError } from '../../src/put-records-batcher.js';
import { hashKey } from '../../src/shard-pacer.js';

type Answer = (entries: NonNullable<PutRecordsCommand['input']['Records']>) => PutRecordsCommandOutput | Error;

/** A Kinesis client that answers each PutRecords call with `answer`, and keeps the calls. */
function scriptedKinesis(answer: Answer = positions) {
  const calls: string[][] = [];
  const kinesis = {
    async send(command: PutRecordsCommand) {
      const entries = command.input.Records ?? [];
      calls.push(entries.map((entry) => entry.PartitionKey as string));
      const result = answer(entries);
      if (result instanceof Error) throw result;
      return result;
    },
  } as unknown as KinesisClient;
  return { kinesis, calls };
}

function positions(entries: NonNullable<PutRecordsCommand['input']['Records']>): PutRecordsCommandOutput {
  return {
    Records: entries.map((entry) => ({ ShardId: 'shardId-000000000000', SequenceNumber: `seq-${entry.PartitionKey}` })),
    $metadata: {},
  };
}

function batcher(
  kinesis: KinesisClient,
  overrides: { lingerMs?: number; maxRecords?: number; maxBytes?: number } = {},
) {
  return new PutRecordsBatcher({
    kinesis,
    streamName: 'records',
    lingerMs: 1,
    maxRecords: 500,
    maxBytes: 5 << 20,
    ...overrides,
  });
}

const data = (size = 10) => new Uint8Array(size);

describe('Class: PutRecordsBatcher', () => {
  it('puts records waiting together in calls of at most maxRecords, each record getting its own position', async () => {
    // Prepare
    const { kinesis, calls } = scriptedKinesis();
    const puts = batcher(kinesis);

    // Act
    const results = await Promise.all(Array.from({ length: 1_200 }, (_, index) => puts.put(data(), `k${index}`)));

    // Assess
    expect(calls.map((call) => call.length)).toEqual([500, 500, 200]);
    expect(results).toEqual(
      Array.from({ length: 1_200 }, (_, index) => ({
        shardId: 'shardId-000000000000',
        sequenceNumber: `seq-k${index}`,
      })),
    );
  });

  it('sends a batch at once when it is full, without waiting out the linger time', async () => {
    // Prepare
    const { kinesis, calls } = scriptedKinesis();
    const puts = batcher(kinesis, { lingerMs: 60_000, maxRecords: 3 });

    // Act
    const results = await Promise.all(['a', 'b', 'c'].map((key) => puts.put(data(), key)));

    // Assess
    expect(calls).toEqual([['a', 'b', 'c']]);
    expect(results).toHaveLength(3);
  });

  it('keeps a call under maxBytes, counting data and partition keys', async () => {
    // Prepare
    const { kinesis, calls } = scriptedKinesis();
    const puts = batcher(kinesis, { maxBytes: 2_500 });

    // Act: 1,000 bytes of data and a 1-byte key each: two fit a call, a third does not
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((key) => puts.put(data(1_000), key)));

    // Assess
    expect(calls).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('rejects only the records whose entries Kinesis did not take, with their error code', async () => {
    // Prepare
    const { kinesis } = scriptedKinesis((entries) => ({
      Records: entries.map((entry) =>
        entry.PartitionKey === 'b'
          ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' }
          : { ShardId: 'shardId-000000000000', SequenceNumber: `seq-${entry.PartitionKey}` },
      ),
      FailedRecordCount: 1,
      $metadata: {},
    }));
    const puts = batcher(kinesis);

    // Act
    const [a, b, c] = await Promise.allSettled(['a', 'b', 'c'].map((key) => puts.put(data(), key)));

    // Assess
    expect(a).toMatchObject({ status: 'fulfilled', value: { sequenceNumber: 'seq-a' } });
    expect(c).toMatchObject({ status: 'fulfilled', value: { sequenceNumber: 'seq-c' } });
    expect(b?.status).toBe('rejected');
    const reason = (b as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(PutRecordsEntryError);
    expect(reason).toMatchObject({ name: 'ProvisionedThroughputExceededException', $fault: 'server' });
  });

  it('rejects every record of a call that failed whole', async () => {
    // Prepare
    const down = Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' });
    const { kinesis } = scriptedKinesis(() => down);
    const puts = batcher(kinesis);

    // Act
    const results = await Promise.allSettled(['a', 'b'].map((key) => puts.put(data(), key)));

    // Assess
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toBe(down);
  });

  it('never sends a record given up on before its call went out', async () => {
    // Prepare
    const { kinesis, calls } = scriptedKinesis();
    const puts = batcher(kinesis, { lingerMs: 20 });
    const controller = new AbortController();

    // Act
    const gone = puts.put(data(), 'gone', controller.signal);
    const kept = puts.put(data(), 'kept');
    controller.abort(new Error('deadline'));

    // Assess
    await expect(gone).rejects.toThrow('deadline');
    await expect(kept).resolves.toMatchObject({ sequenceNumber: 'seq-kept' });
    expect(calls).toEqual([['kept']]);
  });

  it('answers a record at its own deadline while its call goes on for the others, and aborts the call once every deadline passed', async () => {
    // Prepare: a Kinesis that holds every call until it is aborted
    const sent: { keys: string[]; signal: AbortSignal | undefined }[] = [];
    const kinesis = {
      send(command: PutRecordsCommand, options: { abortSignal?: AbortSignal } = {}) {
        const { abortSignal } = options;
        sent.push({
          keys: (command.input.Records ?? []).map((entry) => entry.PartitionKey as string),
          signal: abortSignal,
        });
        return new Promise((_resolve, reject) => {
          abortSignal?.addEventListener('abort', () =>
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
          );
        });
      },
    } as unknown as KinesisClient;
    const puts = batcher(kinesis, { maxRecords: 2 });
    const soon = new AbortController();
    const later = new AbortController();

    // Act: two records, one call; the first record's deadline passes while the call is out, then the second's
    const first = puts.put(data(), 'soon', soon.signal).catch((error: unknown) => error);
    const second = puts.put(data(), 'later', later.signal).catch((error: unknown) => error);
    const signalSent = sent[0]?.signal;
    soon.abort(new Error('deadline of soon'));
    const firstAnswer = await first;
    const callAbortedAfterFirst = signalSent?.aborted;
    later.abort(new Error('deadline of later'));
    const secondAnswer = await second;

    // Assess
    expect(sent.map((call) => call.keys)).toEqual([['soon', 'later']]);
    expect(firstAnswer).toEqual(new Error('deadline of soon'));
    expect(callAbortedAfterFirst).toBe(false);
    expect(signalSent?.aborted).toBe(true);
    expect(secondAnswer).toEqual(new Error('deadline of later'));
  });

  it('never aborts a call that carries a record put without a deadline', async () => {
    // Prepare: a Kinesis that answers each call when the test says
    const answers: (() => void)[] = [];
    const signals: (AbortSignal | undefined)[] = [];
    const kinesis = {
      send(command: PutRecordsCommand, options: { abortSignal?: AbortSignal } = {}) {
        signals.push(options.abortSignal);
        const records = (command.input.Records ?? []).map(() => ({ ShardId: 'shardId-0', SequenceNumber: '7' }));
        return new Promise((resolve) => answers.push(() => resolve({ Records: records })));
      },
    } as unknown as KinesisClient;
    const puts = batcher(kinesis, { maxRecords: 2 });
    const soon = new AbortController();

    // Act
    const first = puts.put(data(), 'soon', soon.signal).catch((error: unknown) => error);
    const second = puts.put(data(), 'none');
    soon.abort(new Error('deadline of soon'));
    const firstAnswer = await first;
    for (const answer of answers) answer();

    // Assess
    expect(firstAnswer).toEqual(new Error('deadline of soon'));
    expect(signals).toEqual([undefined]);
    expect(await second).toEqual({ shardId: 'shardId-0', sequenceNumber: '7' });
  });

  describe('with shard pacing', () => {
    afterEach(() => vi.useRealTimers());

    const HALF = 2n ** 127n;
    /** Partition keys whose hash lands in the lower (shard 0) or upper (shard 1) half of the key space. */
    function keysFor(shard: 0 | 1, count: number, prefix: string): string[] {
      const keys: string[] = [];
      for (let index = 0; keys.length < count; index += 1) {
        const key = `${prefix}${index}`;
        if (hashKey(key) < HALF === (shard === 0)) keys.push(key);
      }
      return keys;
    }

    /** Two open shards splitting the key space, one closed parent; each call kept with its fake time. */
    function twoShardKinesis() {
      const calls: { at: number; shards: string[] }[] = [];
      const kinesis = {
        async send(command: PutRecordsCommand | ListShardsCommand) {
          if (command instanceof ListShardsCommand) {
            return {
              Shards: [
                {
                  ShardId: 'shardId-parent',
                  HashKeyRange: { StartingHashKey: '0', EndingHashKey: String(2n ** 128n - 1n) },
                  SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: '2' },
                },
                {
                  ShardId: 'shardId-0',
                  HashKeyRange: { StartingHashKey: '0', EndingHashKey: String(HALF - 1n) },
                  SequenceNumberRange: { StartingSequenceNumber: '3' },
                },
                {
                  ShardId: 'shardId-1',
                  HashKeyRange: { StartingHashKey: String(HALF), EndingHashKey: String(2n ** 128n - 1n) },
                  SequenceNumberRange: { StartingSequenceNumber: '3' },
                },
              ],
              $metadata: {},
            };
          }
          const entries = command.input.Records ?? [];
          const shards = entries.map((entry) =>
            hashKey(entry.PartitionKey as string) < HALF ? 'shardId-0' : 'shardId-1',
          );
          calls.push({ at: performance.now(), shards });
          return {
            Records: shards.map((shard, index) => ({ ShardId: shard, SequenceNumber: String(index) })),
            $metadata: {},
          };
        },
      } as unknown as KinesisClient;
      return { kinesis, calls };
    }

    it('keeps each shard under its records per second while records for other shards go on', async () => {
      // Prepare
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
      const { kinesis, calls } = twoShardKinesis();
      const puts = new PutRecordsBatcher({
        kinesis,
        streamName: 'records',
        lingerMs: 1,
        maxRecords: 500,
        maxBytes: 5 << 20,
        pacing: { recordsPerSecond: 100, bytesPerSecond: 1 << 20 },
      });
      // The first record loads the shard map.
      const first = puts.put(data(), 'warm-up');
      await vi.advanceTimersByTimeAsync(1);
      await first;
      calls.length = 0;
      const start = performance.now();

      // Act
      const hot = Promise.all(keysFor(0, 250, 'hot').map((key) => puts.put(data(), key)));
      const cold = Promise.all(keysFor(1, 20, 'cold').map((key) => puts.put(data(), key)));
      let coldDone = false;
      void cold.then(() => {
        coldDone = true;
      });
      await vi.advanceTimersByTimeAsync(2);
      const coldDoneAtOnce = coldDone;
      await vi.advanceTimersByTimeAsync(998);
      const hotByOneSecond = calls.flatMap((call) => call.shards).filter((shard) => shard === 'shardId-0').length;
      await vi.advanceTimersByTimeAsync(1_000);
      await Promise.all([hot, cold]);

      // Assess
      // The cold shard's records went in the first call, not behind the hot shard's.
      expect(coldDoneAtOnce).toBe(true);
      expect(calls[0]?.shards.filter((shard) => shard === 'shardId-1')).toHaveLength(20);
      // A token bucket of one second: at most 100 at once and 100 a second after, in calls of several.
      expect(hotByOneSecond).toBeLessThanOrEqual(200);
      expect(hotByOneSecond).toBeGreaterThanOrEqual(190);
      expect(calls.every((call) => call.at - start < 1_600)).toBe(true);
      expect(calls.length).toBeLessThan(40);
    });
  });

  describe('with adaptive linger', () => {
    afterEach(() => vi.useRealTimers());

    /** A Kinesis whose calls stay out until the test answers them; each call kept with its fake time. */
    function heldKinesis() {
      const calls: { at: number; keys: string[]; answer: () => void }[] = [];
      const kinesis = {
        send(command: PutRecordsCommand) {
          const entries = command.input.Records ?? [];
          return new Promise((resolve) => {
            calls.push({
              at: performance.now(),
              keys: entries.map((entry) => entry.PartitionKey as string),
              answer: () => resolve(positions(entries)),
            });
          });
        },
      } as unknown as KinesisClient;
      return { kinesis, calls };
    }

    function adaptive(kinesis: KinesisClient, lingerMs: number, maxLingerMs: number) {
      return new PutRecordsBatcher({
        kinesis,
        streamName: 'records',
        lingerMs,
        maxLingerMs,
        maxRecords: 500,
        maxBytes: 5 << 20,
      });
    }

    it('sends a batch after lingerMs while no call is in flight (light load)', async () => {
      // Prepare
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
      const { kinesis, calls } = heldKinesis();
      const puts = adaptive(kinesis, 5, 50);
      const start = performance.now();

      // Act
      void puts.put(data(), 'a');
      await vi.advanceTimersByTimeAsync(5);

      // Assess
      expect(calls.map((call) => [call.at - start, call.keys])).toEqual([[5, ['a']]]);
    });

    it('keeps gathering past lingerMs while a call is in flight, and sends what gathered when it answers', async () => {
      // Prepare: one call out
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
      const { kinesis, calls } = heldKinesis();
      const puts = adaptive(kinesis, 5, 50);
      const first = puts.put(data(), 'first');
      await vi.advanceTimersByTimeAsync(5);
      const start = performance.now();

      // Act: records keep arriving for 20 ms while it is out, then it answers
      const later = ['b', 'c', 'd', 'e'].map(async (key, index) => {
        await new Promise((wait) => setTimeout(wait, index * 5));
        return puts.put(data(), key);
      });
      await vi.advanceTimersByTimeAsync(20);
      const callsWhileOut = calls.length;
      calls[0]?.answer();
      await first;
      await vi.advanceTimersByTimeAsync(0);

      // Assess: one call for everything that arrived while the first was out, sent as it answered
      expect(callsWhileOut).toBe(1);
      expect(calls.map((call) => call.keys)).toEqual([['first'], ['b', 'c', 'd', 'e']]);
      expect(calls[1]?.at).toBe(start + 20);
      calls[1]?.answer();
      await expect(Promise.all(later)).resolves.toHaveLength(4);
    });

    it('sends a gathering batch maxLingerMs after its first record even while the call in flight is still out', async () => {
      // Prepare: one call out that never answers
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
      const { kinesis, calls } = heldKinesis();
      const puts = adaptive(kinesis, 5, 50);
      void puts.put(data(), 'first');
      await vi.advanceTimersByTimeAsync(5);
      const start = performance.now();

      // Act
      void puts.put(data(), 'b');
      await vi.advanceTimersByTimeAsync(49);
      const before = calls.length;
      await vi.advanceTimersByTimeAsync(1);

      // Assess
      expect(before).toBe(1);
      expect(calls.map((call) => [call.at - start, call.keys])).toEqual([
        [0, ['first']],
        [50, ['b']],
      ]);
    });

    it('never holds a record past its sendWithinMs, even below lingerMs', async () => {
      // Prepare: one call out that never answers
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
      const { kinesis, calls } = heldKinesis();
      const puts = adaptive(kinesis, 5, 50);
      void puts.put(data(), 'first');
      await vi.advanceTimersByTimeAsync(5);
      const start = performance.now();

      // Act: a record that may wait 20 ms joins one that may wait its whole linger, then one that may wait 2 ms
      void puts.put(data(), 'patient');
      void puts.put(data(), 'in-a-hurry', undefined, 20);
      await vi.advanceTimersByTimeAsync(20);
      void puts.put(data(), 'urgent', undefined, 2);
      await vi.advanceTimersByTimeAsync(2);

      // Assess
      expect(calls.map((call) => [call.at - start, call.keys])).toEqual([
        [0, ['first']],
        [20, ['patient', 'in-a-hurry']],
        [22, ['urgent']],
      ]);
    });

    it('sends at lingerMs while a call is in flight when maxLingerMs is not above it (adaptive linger off)', async () => {
      // Prepare: one call out that never answers
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
      const { kinesis, calls } = heldKinesis();
      const puts = adaptive(kinesis, 5, 0);
      void puts.put(data(), 'first');
      await vi.advanceTimersByTimeAsync(5);
      const start = performance.now();

      // Act
      void puts.put(data(), 'b');
      await vi.advanceTimersByTimeAsync(5);

      // Assess
      expect(calls.map((call) => [call.at - start, call.keys])).toEqual([
        [0, ['first']],
        [5, ['b']],
      ]);
    });
  });

  it('shows its observer each call as it is sent and the first record that landed, after every record is settled', async () => {
    // Prepare: the first entry is throttled, the other two land.
    const { kinesis } = scriptedKinesis((entries) => ({
      Records: entries.map((entry, index) =>
        index === 0
          ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' }
          : { ShardId: 'shardId-000000000000', SequenceNumber: `seq-${entry.PartitionKey}` },
      ),
      $metadata: {},
    }));
    const seen: string[] = [];
    const puts = new PutRecordsBatcher({
      kinesis,
      streamName: 'records',
      lingerMs: 60_000,
      maxRecords: 3,
      maxBytes: 5 << 20,
      observer: {
        sent: () => {
          seen.push('sent');
          return (landed) => {
            seen.push(`landed ${landed.partitionKey} ${landed.sequenceNumber} ${landed.data.byteLength}`);
            throw new Error('an observer that fails');
          };
        },
      },
    });

    // Act
    const outcomes = await Promise.allSettled([puts.put(data(1), 'a'), puts.put(data(2), 'b'), puts.put(data(3), 'c')]);

    // Assess
    expect(seen).toEqual(['sent', 'landed b seq-b 2']);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
  });
});
