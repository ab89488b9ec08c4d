import { describe, expect, it } from 'vitest';
import { createRecordIngestor } from '../../src/record-ingestor.js';

describe('Function: createRecordIngestor', () => {
  it('zeroes the plaintext when encryption throws', async () => {
    // Prepare
    let seen: Uint8Array | undefined;
    const ingest = createRecordIngestor({
      streamName: 'records',
      pipelineAttribute: '_pipeline',
      encryptor: {
        encrypt: async (plaintext) => {
          seen = plaintext;
          throw new Error('no data key');
        },
      },
      pusher: { push: async () => ({ regions: {}, pending: [] }) },
    });

    // Act
    const result = ingest({ id: 'r-1', secret: 'x' });

    // Assess
    await expect(result).rejects.toThrow('no data key');
    expect(seen?.length).toBeGreaterThan(0);
    expect(seen?.every((byte) => byte === 0)).toBe(true);
  });

  it('zeroes the plaintext once it is encrypted and pushes the ciphertext', async () => {
    // Prepare
    let seen: Uint8Array | undefined;
    let pushed: Uint8Array | undefined;
    const ingest = createRecordIngestor({
      streamName: 'records',
      pipelineAttribute: '_pipeline',
      encryptor: {
        encrypt: async (plaintext) => {
          seen = plaintext;
          return Uint8Array.from(plaintext);
        },
      },
      pusher: {
        push: async (_id, ciphertext) => {
          pushed = ciphertext;
          return { regions: {}, pending: [] };
        },
      },
    });

    // Act
    await ingest({ id: 'r-2' });

    // Assess
    expect(seen?.every((byte) => byte === 0)).toBe(true);
    expect(Buffer.from(pushed ?? []).toString('utf8')).toBe('{"id":"r-2"}');
  });
});
