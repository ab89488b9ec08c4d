import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, startStackProcess } from '@records/local-stack/testing';
import { describe, expect, it } from 'vitest';
import { listeningSockets } from '../support/listening-sockets.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Command: pnpm start, as a user leaves it', () => {
  it('keeps stack.json true after a restart, and stops everything on SIGTERM after its terminal has gone', async () => {
    // Prepare
    const running = await startStackProcess();
    const started = (await listeningSockets(running.pid)).map((socket) => socket.pid);
    const consumer = running.stack.consumers[0] as { region: string; pid: number };

    // Act: a consumer dies and is restarted; then the terminal goes away, and then SIGTERM comes
    const restartedPid = async (than: number) => {
      const stack = JSON.parse(await readFile(join(running.directory, 'stack.json'), 'utf8'));
      const pid = stack.consumers[0].pid as number;
      return pid !== than && alive(pid) ? pid : undefined;
    };
    process.kill(consumer.pid, 'SIGKILL');
    const restarted = await eventually(() => restartedPid(consumer.pid));
    running.closeOutput();
    // With its pipes closed, make the stack write: it reports a consumer's exit before restarting
    // it, so the restart below happens only after that write met EPIPE and the stack lived on.
    process.kill(restarted, 'SIGKILL');
    const again = await eventually(() => restartedPid(restarted));
    const code = await running.stop();

    // Assess
    expect(code).toBe(0);
    expect(started.length).toBeGreaterThanOrEqual(6);
    expect([...new Set([...started, restarted, again])].filter(alive)).toEqual([]);
  });
});
