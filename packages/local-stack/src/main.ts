/**
 * `pnpm start`: the whole pipeline on this machine, on local emulators, in one command.
 */
import { renderBanner } from './stack/banner.js';
import { startStack } from './stack/stack.js';
import { loadStackConfig } from './stack/stack-config.js';

const say = (message: string) => process.stderr.write(`[stack] ${message}\n`);
const config = loadStackConfig(process.env, process.cwd());

let stopping: Promise<void> | undefined;
let stopStack: (() => Promise<void>) | undefined;
const shutdown = (signal: string) => {
  if (stopping !== undefined) return;
  say(`${signal}: stopping everything`);
  stopping = (stopStack?.() ?? Promise.resolve()).finally(() => process.exit(0));
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

try {
  say(`starting emulators for ${config.pipeline.regions.join(', ')}`);
  const stack = await startStack(config, {
    say,
    onServiceOutput: (service, line) => process.stdout.write(`${service.padEnd(20)} ${line}\n`),
  });
  stopStack = stack.stop;
  if (stopping !== undefined) await stack.stop();
  else process.stdout.write(renderBanner(stack.description, config.stackFile, process.cwd()));
} catch (error) {
  say(`could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
