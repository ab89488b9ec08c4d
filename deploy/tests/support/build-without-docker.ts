import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { cp, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { copyBuildContext } from './docker-context.js';
import { type Dockerfile, envPairs, healthcheckCommand, type Instruction, parseDockerfile } from './dockerfile.js';

export interface BuildOptions {
  /** The repository: the build context, read through its .dockerignore. */
  readonly contextRoot: string;
  readonly dockerfileName: string;
  /** An empty folder that stands in for `/` of the images. */
  readonly workspace: string;
  /** The stage whose RUN steps are the project's build; RUN steps of other stages only install OS tools. */
  readonly buildStage: string;
  /** Folders put first on PATH for the RUN steps, e.g. one holding the pnpm the toolchain stage installs. */
  readonly path?: readonly string[];
}

interface SkippedRun {
  readonly stage: string;
  readonly command: string;
}

/** The final stage as a runnable folder, with what the image would run it with. */
export interface BuiltImage {
  readonly dockerfile: Dockerfile;
  /** The final stage's WORKDIR, mapped into the workspace. */
  readonly workdir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly healthcheck: readonly string[];
  readonly user?: string;
  /** RUN steps of toolchain and runtime stages: OS-level installs, checked by reading them. */
  readonly skippedRuns: readonly SkippedRun[];
  /** Every RUN step of the build stage, in order, as it was run here. */
  readonly ranCommands: readonly string[];
  readonly logFile: string;
}

interface StageState {
  env: Record<string, string>;
  workdir: string;
  root: string;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[];
  user?: string;
}

function run(command: string, cwd: string, env: Record<string, string>, log: NodeJS.WritableStream): Promise<void> {
  log.write(`\n$ ${command}\n`);
  return new Promise((resolve, reject) => {
    // Docker runs a shell-form RUN as `/bin/sh -c`.
    const child = spawn('/bin/sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`RUN ${command} exited with ${code}; see the build log`)),
    );
  });
}

async function copyInto(source: string, destination: string, destinationIsFolder: boolean): Promise<void> {
  const isFolder = (await stat(source)).isDirectory();
  const target = !isFolder && destinationIsFolder ? join(destination, basename(source)) : destination;
  await mkdir(isFolder ? target : join(target, '..'), { recursive: true });
  // pnpm's node_modules is made of relative symlinks: copy them as they are, as COPY does.
  await cp(source, target, { recursive: true, verbatimSymlinks: true, force: true });
}

/**
 * Builds a Dockerfile's final stage without Docker: the build stage's COPY and RUN steps run as
 * written, in a folder per stage standing in for the image's `/`. RUN steps of the other stages
 * install OS packages with apt or npm; they are returned, not run, so tests can check them.
 */
export async function buildWithoutDocker(options: BuildOptions): Promise<BuiltImage> {
  const dockerfile = parseDockerfile(await readFile(join(options.contextRoot, options.dockerfileName), 'utf8'));
  const context = join(options.workspace, 'context');
  await copyBuildContext(options.contextRoot, context);
  const logFile = join(options.workspace, 'build.log');
  const log = createWriteStream(logFile);
  const states = new Map<string, StageState>();
  const skippedRuns: SkippedRun[] = [];
  const ranCommands: string[] = [];
  let final: StageState | undefined;
  try {
    for (const [index, stage] of dockerfile.stages.entries()) {
      const name = stage.name ?? String(index);
      const parent = states.get(stage.base);
      const state: StageState = parent
        ? { ...parent, env: { ...parent.env } }
        : {
            env: {},
            workdir: '/',
            root: join(options.workspace, `stage-${name}`),
            entrypoint: [],
            cmd: [],
            healthcheck: [],
          };
      const hostPath = (path: string) => join(state.root, posix.resolve(state.workdir, path));
      for (const instruction of stage.instructions) {
        await apply(instruction);
      }
      states.set(name, state);
      final = state;

      async function apply(instruction: Instruction): Promise<void> {
        const { keyword, args, exec, flags } = instruction;
        switch (keyword) {
          case 'ENV':
            Object.assign(state.env, envPairs(args));
            return;
          case 'WORKDIR':
            state.workdir = posix.resolve(state.workdir, args);
            await mkdir(hostPath('.'), { recursive: true });
            return;
          case 'USER':
            state.user = args;
            return;
          case 'ENTRYPOINT':
            state.entrypoint = exec ? [...exec] : ['/bin/sh', '-c', args];
            return;
          case 'CMD':
            state.cmd = exec ? [...exec] : ['/bin/sh', '-c', args];
            return;
          case 'HEALTHCHECK':
            state.healthcheck = healthcheckCommand(instruction);
            return;
          case 'COPY': {
            const parts = exec ? [...exec] : args.split(/\s+/);
            const destination = parts.pop()!;
            const from = flags.from === undefined ? undefined : states.get(flags.from);
            if (flags.from !== undefined && from === undefined)
              throw new Error(`COPY --from=${flags.from}: no such stage`);
            for (const part of parts) {
              const source = from ? join(from.root, posix.resolve(from.workdir, part)) : join(context, part);
              await copyInto(source, hostPath(destination), destination.endsWith('/') || parts.length > 1);
            }
            return;
          }
          case 'RUN': {
            const command = exec ? exec.join(' ') : args;
            if (name !== options.buildStage) {
              skippedRuns.push({ stage: name, command });
              return;
            }
            const PATH = [...(options.path ?? []), process.env.PATH].join(':');
            await run(command, hostPath('.'), { ...process.env, ...state.env, PATH } as Record<string, string>, log);
            ranCommands.push(command);
            return;
          }
          case 'EXPOSE':
          case 'LABEL':
          case 'STOPSIGNAL':
            return;
          default:
            throw new Error(`line ${instruction.line}: ${keyword} is not understood by the build outside Docker`);
        }
      }
    }
  } finally {
    await new Promise((resolve) => log.end(resolve));
  }
  if (final === undefined) throw new Error(`${options.dockerfileName} has no stage`);
  return {
    dockerfile,
    workdir: join(final.root, final.workdir),
    env: final.env,
    entrypoint: final.entrypoint,
    cmd: final.cmd,
    healthcheck: final.healthcheck,
    ...(final.user === undefined ? {} : { user: final.user }),
    skippedRuns,
    ranCommands,
    logFile,
  };
}
