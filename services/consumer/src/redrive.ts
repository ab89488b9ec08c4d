import type { _Record } from '@aws-sdk/client-kinesis';
import type { Logger } from '@records/observability';
import type { DeadLetterFilter, DeadLetterStore, StoredDeadLetter } from './dead-letter-store.js';
import type { RecordProcessor } from './record-processor.js';

export interface RedriveDeps {
  readonly store: Pick<DeadLetterStore, 'find' | 'remove'>;
  /** The consumer's own decrypt, verify and write core. */
  readonly processorFor: (streamName: string) => RecordProcessor;
  readonly logger: Pick<Logger, 'info'>;
  /** Dead letters put through the core at once. */
  readonly batchSize?: number;
}

export interface RedriveSummary {
  /** Dead letters that matched the filter and were tried again. */
  readonly tried: number;
  /** Written to the table, and removed from the dead letters. */
  readonly stored: number;
  /** Still not writable: dead-lettered again, under the same key, with the reason of this try. */
  readonly deadLetteredAgain: number;
}

function asKinesisRecord(letter: StoredDeadLetter): _Record {
  return {
    Data: letter.ciphertext,
    SequenceNumber: letter.sequenceNumber,
    ...(letter.arrivedAt === undefined ? {} : { ApproximateArrivalTimestamp: letter.arrivedAt }),
  };
}

function bySequence(a: StoredDeadLetter, b: StoredDeadLetter): number {
  const left = BigInt(a.sequenceNumber || '0');
  const right = BigInt(b.sequenceNumber || '0');
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * Puts dead letters through the normal decrypt, verify and write path again, once the cause is
 * fixed (a commitment policy, a key policy, a table's capacity). What is stored is removed from the
 * dead letters; what still fails stays, with the reason of this try. Running it again changes
 * nothing more. Within a shard, dead letters are tried in their stream order.
 */
export async function redriveDeadLetters(deps: RedriveDeps, filter: DeadLetterFilter = {}): Promise<RedriveSummary> {
  const letters: StoredDeadLetter[] = [];
  for await (const letter of deps.store.find(filter)) letters.push(letter);
  const groups = new Map<string, StoredDeadLetter[]>();
  for (const letter of letters) {
    const key = `${letter.stream}\u0000${letter.shardId}`;
    groups.set(key, [...(groups.get(key) ?? []), letter]);
  }
  const batchSize = deps.batchSize ?? 100;
  let stored = 0;
  let deadLetteredAgain = 0;
  for (const group of groups.values()) {
    group.sort(bySequence);
    for (let start = 0; start < group.length; start += batchSize) {
      const batch = group.slice(start, start + batchSize);
      const { stream, shardId } = batch[0] as StoredDeadLetter;
      const outcome = await deps.processorFor(stream)(shardId, batch.map(asKinesisRecord));
      const written = new Set(outcome.written);
      const done = batch.filter((letter) => written.has(letter.sequenceNumber));
      await deps.store.remove(done);
      stored += done.length;
      deadLetteredAgain += batch.length - done.length;
      deps.logger.info(
        { stream, shardId, stored: done.length, deadLetteredAgain: batch.length - done.length },
        'redriven',
      );
    }
  }
  return { tried: letters.length, stored, deadLetteredAgain };
}
