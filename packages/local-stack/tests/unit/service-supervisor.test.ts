import { describe, expect, it } from 'vitest';
import { SupervisedService } from '../../src/stack/service-supervisor.js';

describe('Class: SupervisedService', () => {
  it('stops at once when called during the restart back-off', async () => {
    // Prepare: a service that dies at once, so the supervisor sleeps before starting it again.
    const delays: number[] = [];
    let backingOff: () => void = () => {};
    const secondRestart = new Promise<void>((resolve) => {
      backingOff = resolve;
    });
    const service = new SupervisedService({
      name: 'dies-at-once',
      command: process.execPath,
      args: ['-e', 'process.exit(1)'],
      cwd: process.cwd(),
      env: {},
      onOutput: () => {},
      // The first back-off passes at once; the second never ends by itself, so stop() can only
      // return if it cuts the back-off short.
      backoff: (_delayMs, signal) =>
        delays.length < 2
          ? Promise.resolve()
          : new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      onRestart: (_name, _code, _signal, delayMs) => {
        delays.push(delayMs);
        if (delays.length === 2) backingOff();
      },
    });
    service.start();
    await secondRestart;

    // Act
    await service.stop();

    // Assess: the back-off grew, and stop() returned from inside it.
    expect(delays).toEqual([100, 200]);
  });
});
