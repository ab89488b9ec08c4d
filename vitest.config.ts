import { defineConfig } from 'vitest/config';

const roots = ['packages/*', 'services/*', 'infra'];
const tests = (kind: string) => roots.map((root) => `${root}/tests/${kind}/**/*.test.ts`);

export default defineConfig({
  // Workspace packages are read from their TypeScript sources, as `pnpm start` does.
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'unit', include: tests('unit') } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: tests('integration'),
          globalSetup: ['./vitest.emulators.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'deploy',
          include: ['deploy/tests/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: tests('e2e'),
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // The end-to-end suites each start a whole stack; on two cores they run one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
