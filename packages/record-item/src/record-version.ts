/**
 * A record's version: when the producer took it, by its hybrid logical clock. Physical
 * milliseconds since the epoch, a logical counter for versions made within one millisecond, and
 * the producing process's random node id (so two processes never make the same version), as
 * `000001764790000000-000000-a1b2c3d4`. Every field is fixed-width, so the strings sort as text
 * in the same order as the versions compare: DynamoDB's `<` on the stored string orders them.
 */
export interface RecordVersion {
  readonly physicalMs: number;
  readonly counter: number;
  readonly nodeId: string;
}

const PHYSICAL_DIGITS = 18;
const COUNTER_DIGITS = 6;
export const MAX_VERSION_COUNTER = 10 ** COUNTER_DIGITS - 1;
const NODE_ID = /^[0-9a-f]{8}$/;

/** The one accepted rendering: what `formatRecordVersion` makes, and nothing else. */
export const RECORD_VERSION_PATTERN = /^(\d{18})-(\d{6})-([0-9a-f]{8})$/;

export function formatRecordVersion(version: RecordVersion): string {
  const { physicalMs, counter, nodeId } = version;
  if (!Number.isSafeInteger(physicalMs) || physicalMs < 0)
    throw new RangeError('physicalMs must be a safe integer >= 0');
  if (!Number.isInteger(counter) || counter < 0 || counter > MAX_VERSION_COUNTER) {
    throw new RangeError(`counter must be an integer from 0 to ${MAX_VERSION_COUNTER}`);
  }
  if (!NODE_ID.test(nodeId)) throw new RangeError('nodeId must be 8 lowercase hex digits');
  return `${String(physicalMs).padStart(PHYSICAL_DIGITS, '0')}-${String(counter).padStart(COUNTER_DIGITS, '0')}-${nodeId}`;
}

/** The version a string renders, or undefined when it is not one `formatRecordVersion` made. */
export function parseRecordVersion(text: string): RecordVersion | undefined {
  const match = RECORD_VERSION_PATTERN.exec(text);
  if (match === null) return undefined;
  const physicalMs = Number(match[1]);
  if (!Number.isSafeInteger(physicalMs)) return undefined;
  return { physicalMs, counter: Number(match[2]), nodeId: match[3] as string };
}

/** Negative when `a` is older than `b`, 0 when equal, positive when newer: time, then counter, then node id. */
export function compareRecordVersions(a: RecordVersion, b: RecordVersion): number {
  if (a.physicalMs !== b.physicalMs) return a.physicalMs < b.physicalMs ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  if (a.nodeId === b.nodeId) return 0;
  return a.nodeId < b.nodeId ? -1 : 1;
}
