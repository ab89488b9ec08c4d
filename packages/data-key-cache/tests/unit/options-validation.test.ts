import { describe, expect, it } from 'vitest';
import { CoalescingCachingMaterialsManager, type DataKeyCacheOptions } from '../../src/index.js';
import { ScriptedBacking } from '../support/scripted-backing.js';

const valid: DataKeyCacheOptions = {
  backing: new ScriptedBacking(),
  capacity: 10,
  maxAgeSeconds: 60,
  maxMessages: 100,
  maxBytes: 1_000,
  refreshAhead: true,
  refreshAheadAt: 0.8,
};

describe('Class: CoalescingCachingMaterialsManager options', () => {
  it.each([
    ['capacity', { capacity: 0 }],
    ['maxAgeSeconds', { maxAgeSeconds: 0 }],
    ['maxMessages', { maxMessages: 2 ** 32 + 1 }],
    ['maxBytes', { maxBytes: 1.5 }],
    ['refreshAheadAt', { refreshAheadAt: 0 }],
    ['refreshAheadAt', { refreshAheadAt: 1.2 }],
    ['backoff.maxMs', { backoff: { baseMs: 100, maxMs: 50 } }],
    ['adaptiveRefresh.latencyMultiple', { adaptiveRefresh: { latencyMultiple: -1 } }],
    ['adaptiveRefresh.maxKeysAhead', { adaptiveRefresh: { maxKeysAhead: 0 } }],
    ['adaptiveRefresh.maxKeysAhead', { adaptiveRefresh: { maxKeysAhead: 65 } }],
    ['adaptiveRefresh.maxKeysAhead', { adaptiveRefresh: { maxKeysAhead: 1.5 } }],
  ])('throws DATA_KEY_CACHE_OPTIONS_INVALID naming %s when it is out of bounds', (option, override) => {
    // Prepare
    const options = { ...valid, ...override };

    // Act
    const create = () => new CoalescingCachingMaterialsManager(options);

    // Assess
    expect(create).toThrowError(expect.objectContaining({ code: 'DATA_KEY_CACHE_OPTIONS_INVALID', option }));
  });
});
