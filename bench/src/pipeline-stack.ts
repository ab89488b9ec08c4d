import { type StackProcess, startStackProcess } from '@records/local-stack/testing';

const started = new Set<StackProcess>();

/** Stops every stack still running, for a benchmark that has to give up. */
export async function stopPipelineStacks(): Promise<void> {
  await Promise.allSettled([...started].map((stack) => stack.stop()));
}

/** `pnpm start` as a process of its own (the real producer and consumers over the emulators), quiet but for warnings. */
export async function startPipelineStack(env: NodeJS.ProcessEnv): Promise<StackProcess> {
  const running = await startStackProcess({ LOG_LEVEL: 'warn', ...env });
  started.add(running);
  return {
    ...running,
    stop: async () => {
      started.delete(running);
      return running.stop();
    },
  };
}
