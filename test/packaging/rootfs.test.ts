/**
 * The shipped binary in an image like Velero's: a root filesystem with glibc only (Debian bullseye's
 * libc6 package, no libstdc++, no libgcc_s, no shell, no node), the plugin directory at /plugins as
 * the init container leaves it, Velero's environment, and a non-root user. The binary must print the
 * handshake and answer ListPlugins; without its two libraries it must fail with a clear loader error.
 *
 * No root needed: the root filesystem is entered through user namespaces (util-linux unshare), as a
 * rootless container runtime does. The outer namespace maps the caller to root there, so that /proc and
 * /dev/null can be bind-mounted into the root filesystem; the inner one maps that root to Velero's uid
 * and gid and changes the root directory before the plugin starts (which then has no capabilities).
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { unaryCall } from '../support/grpc-client';

const REPO = join(__dirname, '..', '..');
const DIST = join(REPO, 'dist');
const LIBS = ['libstdc++.so.6', 'libgcc_s.so.1'];
const VELERO_UID = '1002:1000'; // cnb:cnb in paketo's jammy-tiny run image

function bullseye(): string {
    return execFileSync('bash', [join(REPO, 'scripts', 'fetch-runtime-libs.sh')], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim()
        .split('\n')
        .at(-1) as string;
}

interface Rootfs {
    root: string;
    cleanup(): void;
}

function makeRootfs(withLibs: boolean): Rootfs {
    const root = mkdtempSync(join(tmpdir(), 'kvp-rootfs-'));
    chmodSync(root, 0o755);
    cpSync(join(bullseye(), 'glibc-rootfs'), root, { recursive: true, verbatimSymlinks: true });
    for (const dir of ['plugins', 'proc', 'dev', 'scratch', 'tmp']) mkdirSync(join(root, dir), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    copyFileSync(join(DIST, 'kubevirt-velero-plugin'), join(root, 'plugins', 'kubevirt-velero-plugin'));
    chmodSync(join(root, 'plugins', 'kubevirt-velero-plugin'), 0o755);
    if (withLibs) {
        for (const lib of LIBS) {
            copyFileSync(join(DIST, lib), join(root, 'plugins', lib));
            chmodSync(join(root, 'plugins', lib), 0o644);
        }
    }
    return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

interface Started {
    handshake: Promise<string>;
    exit: Promise<{ code: number | null; stderr: string }>;
    kill: () => void;
}

/** The unshare binary (util-linux >= 2.38 for --map-user/--map-group), found once. */
function unshareBinary(): string {
    const found = ['/usr/bin/unshare', '/bin/unshare'].find((p) => existsSync(p));
    if (found === undefined) throw new Error('the packaging tests need util-linux unshare (>= 2.38) at /usr/bin/unshare');
    return found;
}

/** Runs the binary inside the root filesystem: user and mount namespaces, /proc and /dev/null bind-mounted as a container runtime does. */
function runInRootfs(root: string, env: Record<string, string>): Started {
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const [uid, gid] = VELERO_UID.split(':') as [string, string];
    const unshare = unshareBinary();
    const script = [
        'set -e',
        `mount --rbind /proc "${root}/proc"`,
        `touch "${root}/dev/null" && mount --bind /dev/null "${root}/dev/null"`,
        // The image has no env and no shell: the environment is set outside; the inner unshare maps Velero's
        // user, changes the root directory and execs the plugin directly.
        `exec env -i ${envArgs.map((a) => `'${a}'`).join(' ')} ${unshare} --user --map-user=${uid} --map-group=${gid} --root="${root}" /plugins/kubevirt-velero-plugin --log-level=info --features= --restore-only`,
    ].join('\n');
    const child = spawn(unshare, ['--user', '--map-root-user', '--mount', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const handshake = new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
            stdout += chunk.toString();
            if (stdout.includes('\n')) resolve(stdout.split('\n')[0] as string);
        });
        child.on('exit', () => reject(new Error(`exited before the handshake: ${stderr}`)));
    });
    handshake.catch(() => undefined);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
    return { handshake, exit, kill: () => child.kill('SIGKILL') };
}

/** The action names the binary must list (test/fixtures/conformance/plugins.yaml, shared with the conformance suite). */
function listedActionNames(): string[] {
    const listed = parseYaml(readFileSync(join(__dirname, '..', 'fixtures', 'conformance', 'plugins.yaml'), 'utf8')) as { name: string }[];
    return listed.map((p) => p.name).sort();
}

const VELERO_ENV = {
    VELERO_PLUGIN: 'hello',
    PLUGIN_PROTOCOL_VERSIONS: '2',
    PLUGIN_MIN_PORT: '10000',
    PLUGIN_MAX_PORT: '25000',
    VELERO_NAMESPACE: 'velero',
    VELERO_SCRATCH_DIR: '/scratch',
};

function unary(root: string, socket: string, service: string, method: string): Promise<Record<string, unknown>> {
    return unaryCall(`${root}${socket}`, service, method, {});
}

describe('the single executable in a glibc-only image like Velero’s', () => {
    beforeAll(() => {
        if (!existsSync(join(DIST, 'kubevirt-velero-plugin'))) throw new Error('run npm run build first');
    });

    it.each([
        ['with LD_LIBRARY_PATH=/plugins (velero install, Helm chart)', { LD_LIBRARY_PATH: '/plugins' }],
        ['through the $ORIGIN RUNPATH alone', {}],
    ])('prints the handshake and answers ListPlugins %s, then shuts down with exit 0', async (_name, extraEnv) => {
        const fs = makeRootfs(true);
        let started: ReturnType<typeof runInRootfs> | undefined;
        try {
            started = runInRootfs(fs.root, { ...VELERO_ENV, ...extraEnv });
            const line = await started.handshake;
            expect(line).toMatch(/^1\|2\|unix\|\/tmp\/plugin\d+\|grpc\|$/);
            const socket = line.split('|')[3] as string;
            const listed = await unary(fs.root, socket, 'generated.PluginLister', 'ListPlugins');
            const plugins = listed['plugins'] as { command: string; name: string }[];
            expect(plugins.map((p) => p.name).sort()).toEqual(listedActionNames());
            expect(new Set(plugins.map((p) => p.command))).toEqual(new Set(['/plugins/kubevirt-velero-plugin']));
            await unary(fs.root, socket, 'plugin.GRPCController', 'Shutdown');
            const exit = await started.exit;
            expect(exit.code).toBe(0);
            expect(exit.stderr).not.toMatch(/error while loading shared libraries/);
        } finally {
            // A failed assertion must not leave the plugin serving (jest would wait for it forever).
            started?.kill();
            fs.cleanup();
        }
    });

    it('fails with a clear loader error when the two libraries are missing', async () => {
        const fs = makeRootfs(false);
        try {
            const started = runInRootfs(fs.root, { ...VELERO_ENV, LD_LIBRARY_PATH: '/plugins' });
            await expect(started.handshake).rejects.toThrow(/error while loading shared libraries: libstdc\+\+\.so\.6/);
            expect((await started.exit).code).toBe(127);
        } finally {
            fs.cleanup();
        }
    });
});

interface ElfDescription {
    needed: string[];
    runpath: string[];
    hugeMappable: { offset: number; vaddr: number; size: number }[];
}

function describeBinary(path: string): ElfDescription {
    return JSON.parse(execFileSync(process.execPath, [join(REPO, 'scripts', 'elf.mjs'), 'describe', path]).toString()) as ElfDescription;
}

/** Starts a copy of the binary as Velero would, reads its smaps_rollup once it has printed the handshake, and ends it. */
async function smapsAfterHandshake(binary: string, dir: string): Promise<Record<string, number>> {
    const child = spawn(binary, ['--log-level=info'], { env: { ...VELERO_ENV, PLUGIN_UNIX_SOCKET_DIR: dir }, stdio: ['ignore', 'pipe', 'ignore'] });
    try {
        await new Promise<void>((resolve, reject) => {
            child.stdout.on('data', (chunk: Buffer) => (chunk.includes('\n') ? resolve() : undefined));
            child.on('exit', (code) => reject(new Error(`exited with ${String(code)} before the handshake`)));
        });
        const rollup = readFileSync(`/proc/${String(child.pid)}/smaps_rollup`, 'utf8');
        return Object.fromEntries([...rollup.matchAll(/^(\w+):\s+(\d+) kB$/gm)].map((m) => [m[1] as string, Number(m[2])]));
    } finally {
        child.kill('SIGKILL');
    }
}

describe('the single executable’s ELF layout (scripts/elf.mjs, no readelf)', () => {
    const binary = join(DIST, 'kubevirt-velero-plugin');

    it('needs libstdc++ and libgcc_s, found through an $ORIGIN RUNPATH', () => {
        const elf = describeBinary(binary);
        expect(elf.needed).toEqual(expect.arrayContaining(LIBS));
        expect(elf.runpath).toEqual(['$ORIGIN']);
    });

    it('has no segment the kernel could map with 2 MiB pages but the ELF header’s own', () => {
        const elf = describeBinary(binary);
        expect(elf.hugeMappable.filter((s) => s.offset !== 0)).toEqual([]);
        // The header segment (symbols, relocations) is small: at most one 2 MiB range of it.
        expect(elf.hugeMappable.every((s) => s.size < 2 * 4 * 1024 * 1024)).toBe(true);
    });

    it('the dynamic loader takes the two libraries from the binary’s directory (LD_DEBUG)', () => {
        const dir = mkdtempSync(join(tmpdir(), 'kvp-ld-'));
        try {
            for (const file of ['kubevirt-velero-plugin', ...LIBS]) copyFileSync(join(DIST, file), join(dir, file));
            chmodSync(join(dir, 'kubevirt-velero-plugin'), 0o755);
            // Without Velero's cookie the binary prints its notice and exits 1, after the loader has run.
            const result = spawnSync(join(dir, 'kubevirt-velero-plugin'), [], { env: { LD_DEBUG: 'libs' }, encoding: 'utf8' });
            for (const lib of LIBS) expect(result.stderr).toMatch(new RegExp(`calling init: ${join(dir, lib).replace(/[.+]/g, '\\$&')}`));
            expect(result.stderr).toContain('This binary is a plugin.');
            expect(result.status).toBe(1);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it('a copy written in one write (its page cache in large folios) is mapped with no more than 2 MiB of huge pages', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'kvp-thp-'));
        try {
            const copy = join(dir, 'kubevirt-velero-plugin');
            writeFileSync(copy, readFileSync(binary), { mode: 0o755 });
            for (const lib of LIBS) copyFileSync(join(DIST, lib), join(dir, lib));
            const rollup = await smapsAfterHandshake(copy, dir);
            expect(rollup['Rss']).toBeGreaterThan(0);
            expect(rollup['FilePmdMapped'] ?? 0).toBeLessThanOrEqual(2048);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
