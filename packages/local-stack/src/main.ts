/**
 * `pnpm start`: the whole pipeline on this machine, on local emulators, in one command.
 */
import { renderBanner } from './stack/banner.js';
import { type RunningStack, startStack } from './stack/stack.js';
import { loadStackConfig } from './stack/stack-config.js';

const say = (message: string) => process.stderr.write(`[stack] ${message}\n`);
const config = loadStackConfig(process.env, process.cwd());

let stack: RunningStack | undefined;
let signalled = false;
const stopAndExit = (running: RunningStack) => {
  void running.stop().finally(() => process.exit(0));
};
const shutdown = (signal: string) => {
  if (signalled) return;
  signalled = true;
  say(`${signal}: stopping everything`);
  // During start-up there is nothing whole to stop yet: start-up finishes first, then stops it.
  if (stack !== undefined) stopAndExit(stack);
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

try {
  say(`starting emulators for ${config.pipeline.regions.join(', ')}`);
  stack = await startStack(config, {
    say,
    onServiceOutput: (service, line) => process.stdout.write(`${service.padEnd(20)} ${line}\n`),
  });
  if (signalled) stopAndExit(stack);
  else process.stdout.write(renderBanner(stack.description, config.stackFile, process.cwd()));
} catch (error) {
  say(`could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
  // startStack stopped what it had started before rejecting; a signal asked for the process to end now.
  if (signalled) process.exit();
}
