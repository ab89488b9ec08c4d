import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseDockerIgnore } from './support/docker-context.js';
import { type Dockerfile, envPairs, type Instruction, parseDockerfile } from './support/dockerfile.js';
import { readRepoFile } from './support/repo.js';

const images = [
  { file: 'Dockerfile.producer', pkg: '@records/producer', dir: 'services/producer', port: '3000' },
  { file: 'Dockerfile.consumer', pkg: '@records/consumer', dir: 'services/consumer', port: '3001' },
] as const;

const runs = (dockerfile: Dockerfile, stage: string): string[] =>
  dockerfile.stages
    .find((candidate) => candidate.name === stage)!
    .instructions.filter((instruction) => instruction.keyword === 'RUN')
    .map((instruction) => instruction.args);

const last = (instructions: readonly Instruction[], keyword: string) =>
  instructions.filter((instruction) => instruction.keyword === keyword).at(-1);

describe.each(images)('File: $file', ({ file, pkg, dir, port }) => {
  const load = async () => parseDockerfile(await readRepoFile(file));

  it('builds on Node 22 slim, pinned by tag and digest, in separate build and runtime stages', async () => {
    // Act
    const dockerfile = await load();

    // Assess
    expect(dockerfile.stages.map((stage) => stage.name)).toEqual(['toolchain', 'build', 'runtime']);
    const node = dockerfile.globalArgs.NODE_IMAGE;
    expect(node).toMatch(/^node:22\.\d+\.\d+-[a-z]+-slim@sha256:[0-9a-f]{64}$/);
    expect(dockerfile.stages[0]!.base).toBe(node);
    expect(dockerfile.stages[1]!.base).toBe('toolchain');
    expect(dockerfile.stages[2]!.base).toBe(node);
  });

  it("installs the pnpm that package.json's packageManager names, and nothing else, in the toolchain stage", async () => {
    // Prepare
    const { packageManager } = JSON.parse(await readRepoFile('package.json')) as { packageManager: string };

    // Act
    const commands = runs(await load(), 'toolchain');

    // Assess
    expect(commands).toEqual([`npm install --global ${packageManager} && npm cache clean --force`]);
  });

  it('builds the service and deploys only its production dependencies', async () => {
    // Act
    const commands = runs(await load(), 'build');

    // Assess
    expect(commands).toContain(`pnpm exec tsc -b ${dir}`);
    expect(commands.at(-1)).toMatch(new RegExp(`pnpm --filter ${pkg} deploy --prod --legacy \\.\\./bundle$`));
    expect(commands.some((command) => command.includes('install --frozen-lockfile'))).toBe(true);
  });

  it('runs as a non-root user under tini, with a HEALTHCHECK, and only installs tini itself', async () => {
    // Prepare
    const runtime = (await load()).stages.at(-1)!;

    // Act
    const user = last(runtime.instructions, 'USER');
    const env = Object.assign(
      {},
      ...runtime.instructions.filter((i) => i.keyword === 'ENV').map((i) => envPairs(i.args)),
    );

    // Assess
    expect(user?.args).toBe('node');
    expect(runtime.instructions.indexOf(user!)).toBeGreaterThan(
      runtime.instructions.findIndex((instruction) => instruction.keyword === 'COPY'),
    );
    expect(last(runtime.instructions, 'ENTRYPOINT')?.exec).toEqual(['/usr/bin/tini', '--']);
    expect(last(runtime.instructions, 'CMD')?.exec).toEqual(['node', 'dist/main.js']);
    expect(last(runtime.instructions, 'HEALTHCHECK')?.args).toMatch(/^CMD \[/);
    expect(env).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0', PORT: port });
    expect(last(runtime.instructions, 'EXPOSE')?.args).toBe(port);
    expect(runs({ globalArgs: {}, stages: [runtime] }, 'runtime')).toEqual([
      'apt-get update && apt-get install --yes --no-install-recommends tini && rm -rf /var/lib/apt/lists/*',
    ]);
  });

  it('is the same recipe as the other Dockerfile, but for the package and the port', async () => {
    // Prepare
    const other = images.find((image) => image.file !== file)!;
    const normalise = (text: string, image: (typeof images)[number]) =>
      text
        .split('\n')
        .filter((line) => !line.startsWith('#'))
        .join('\n')
        .replaceAll(image.pkg, 'PKG')
        .replaceAll(image.dir, 'DIR')
        .replaceAll(image.port, 'PORT');

    // Act
    const mine = normalise(await readRepoFile(file), images.find((image) => image.file === file)!);
    const theirs = normalise(await readRepoFile(other.file), other);

    // Assess
    expect(mine).toBe(theirs);
  });
});

describe('File: .dockerignore', () => {
  it('keeps dependencies, build output, tests and VCS data out of the build context', async () => {
    // Prepare
    const ignore = parseDockerIgnore(await readRepoFile('.dockerignore'));

    // Act
    const excluded = [
      'node_modules/x',
      'packages/envelope/node_modules/y',
      'services/producer/dist/main.js',
      'packages/envelope/dist/.tsbuildinfo',
      'services/consumer/tests/unit/a.test.ts',
      '.git/HEAD',
      'deploy/tests/bundle.test.ts',
    ].filter((path) => !ignore.excludes(path));
    const kept = [
      'package.json',
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
      'tsconfig.json',
      'tsconfig.base.json',
      'services/producer/src/main.ts',
      'services/producer/tsconfig.json',
      'packages/envelope/package.json',
    ].filter((path) => ignore.excludes(path));

    // Assess
    expect(excluded).toEqual([]);
    expect(kept).toEqual([]);
  });

  it('sends the files git tracks for the build, so a clean checkout builds', async () => {
    // Prepare
    const ignore = parseDockerIgnore(await readRepoFile('.dockerignore'));
    const { stdout } = await promisify(execFile)('git', ['ls-files'], { cwd: new URL('../..', import.meta.url) });

    // Act
    const sent = stdout.split('\n').filter((path) => path !== '' && !ignore.excludes(path));

    // Assess
    expect(sent).toContain('pnpm-lock.yaml');
    expect(sent.filter((path) => /(^|\/)src\/.*\.ts$/.test(path)).length).toBeGreaterThan(0);
    expect(sent.filter((path) => /\/(tests|dist|node_modules)\//.test(path))).toEqual([]);
  });
});

describe('Function: parseDockerIgnore', () => {
  it('lets the last matching pattern decide, and re-includes with !', () => {
    // Prepare
    const ignore = parseDockerIgnore('# comment\n*.md\n!README.md\n**/tmp\n/build/\n');

    // Act
    const results = ['NOTES.md', 'README.md', 'a/b/tmp/c', 'tmp', 'build/x', 'src/build/x', 'docs/NOTES.md'].map(
      (path) => [path, ignore.excludes(path)],
    );

    // Assess
    expect(results).toEqual([
      ['NOTES.md', true],
      ['README.md', false],
      ['a/b/tmp/c', true],
      ['tmp', true],
      ['build/x', true],
      ['src/build/x', false],
      ['docs/NOTES.md', false],
    ]);
    expect(ignore.prunable).toBe(false);
  });
});
