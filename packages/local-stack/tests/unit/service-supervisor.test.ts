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
      onRestart: (_name, _code, _signal, delayMs) => {
        delays.push(delayMs);
        if (delays.length === 2) backingOff();
      },
    });
    service.start();
    await secondRestart;

    // Act
    const stopAt = Date.now();
    await service.stop();

    // Assess: the second back-off is a whole second; stop() does not wait it out.
    expect(delays).toEqual([500, 1_000]);
    expect(Date.now() - stopAt).toBeLessThan(500);
  });
});
