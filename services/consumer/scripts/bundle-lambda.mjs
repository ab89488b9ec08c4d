// Builds the consumer's Lambda handler into one file and zips it for upload:
// dist-lambda/index.mjs (handler `index.handler`, runtime nodejs20.x or later) and dist-lambda/consumer-lambda.zip.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { zipSync } from 'fflate';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Another folder may be named (the infrastructure tests build theirs apart, so runs never collide).
const out = process.argv[2] ?? join(root, 'dist-lambda');
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(root, 'src/lambda.ts')],
  outfile: join(out, 'index.mjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // Workspace packages are bundled from their TypeScript sources.
  conditions: ['source'],
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  // Some dependencies are CommonJS and call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
const code = await readFile(join(out, 'index.mjs'));
await writeFile(
  join(out, 'consumer-lambda.zip'),
  zipSync({ 'index.mjs': code }, { level: 9, mtime: new Date('2000-01-01T00:00:00Z') }),
);
console.log(`${out}/index.mjs (${code.byteLength} bytes) and ${out}/consumer-lambda.zip`);
