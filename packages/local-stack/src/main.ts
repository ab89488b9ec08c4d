/**
 * `pnpm start`: the whole pipeline on this machine, on local emulators, in one command.
 */
import { renderBanner } from './stack/banner.js';
import { type RunningStack, startStack } from './stack/stack.js';
import { loadStackConfig } from './stack/stack-config.js';

// The terminal reading this output may go away (a closed tab, a pipe to a pager that quit): writing
// then fails with EPIPE. The output is dropped, and the process still stops everything it started.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
const write = (stream: NodeJS.WriteStream, text: string) => {
  try {
    stream.write(text);
  } catch {
    // Nowhere to write to: see above.
  }
};
const say = (message: string) => write(process.stderr, `[stack] ${message}\n`);
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
process.on('SIGHUP', () => shutdown('SIGHUP'));
// Whatever fails here, the emulators and services are not left running behind it.
process.on('uncaughtException', (error) => {
  say(`unexpected error, stopping everything: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
  if (stack !== undefined) void stack.stop().finally(() => process.exit(1));
  else process.exit(1);
});

try {
  say(`starting emulators for ${config.pipeline.regions.join(', ')}`);
  stack = await startStack(config, {
    say,
    onServiceOutput: (service, line) => write(process.stdout, `${service.padEnd(20)} ${line}\n`),
  });
  if (signalled) stopAndExit(stack);
  else write(process.stdout, renderBanner(stack.description, config.stackFile, process.cwd()));
} catch (error) {
  say(`could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
  // startStack stopped what it had started before rejecting; a signal asked for the process to end now.
  if (signalled) process.exit();
}
