/**
 * The plugin image, built with buildah from the repository's Dockerfile (FROM scratch: no registry), as
 * `velero plugin add` uses it: its config (non-root user, a shell-free entrypoint), its files and modes,
 * and its entrypoint run as the init container with Velero's plugin volume mounted at /target.
 *
 * No root needed: buildah runs rootless (vfs storage, chroot isolation, the user's /etc/subuid range).
 * What needs buildah's user namespace (mounting a container's root filesystem, reading a file's owner as
 * the container sees it) runs under `buildah unshare` when not root (as root it runs directly).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const REPO = join(__dirname, '..', '..');
const TAG = 'localhost/kubevirt-velero-plugin-ts:test';

let store: string;
const storeArgs = (): string[] => ['--storage-driver', 'vfs', '--root', join(store, 'root'), '--runroot', join(store, 'run')];
const run = (command: string, args: string[]): string => {
    try {
        return execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 }).toString();
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('the image test needs buildah on PATH (Debian/Ubuntu: apt-get install buildah)', { cause: error });
        throw error;
    }
};
const buildah = (...args: string[]): string => run('buildah', [...storeArgs(), ...args]);
/** A command inside buildah's user namespace (rootless: where the container's files have their uids); as root, directly. */
const inUserNamespace = (command: string, ...args: string[]): string => (process.getuid?.() === 0 ? run(command, args) : run('buildah', ['unshare', command, ...args]));
/** The owner of a file as the container sees it. */
const uidInContainer = (path: string): number =>
    Number(inUserNamespace(process.execPath, '-e', 'process.stdout.write(String(require("node:fs").statSync(process.argv[1]).uid))', path));

function walk(dir: string, base = dir): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const full = join(dir, e.name);
        return e.isDirectory() ? walk(full, base) : [relative(base, full)];
    });
}

const mode = (path: string): string => (statSync(path).mode & 0o7777).toString(8);

beforeAll(() => {
    store = mkdtempSync(join(tmpdir(), 'kvp-buildah-'));
    buildah('bud', '--isolation', 'chroot', '-f', join(REPO, 'Dockerfile'), '-t', TAG, join(REPO, 'build', 'image'));
}, 120000);

afterAll(() => {
    try {
        buildah('rm', '--all');
        buildah('rmi', '--all', '--force');
    } catch {
        // the store is removed below anyway
    }
    rmSync(store, { recursive: true, force: true });
});

describe('the plugin image', () => {
    it('runs as a non-root user and copies without a shell', () => {
        const inspected = JSON.parse(buildah('inspect', '--type', 'image', TAG)) as { OCIv1: { config: { User: string; Entrypoint: string[]; Cmd?: string[] } } };
        expect(inspected.OCIv1.config.User).toBe('65532:65532');
        expect(inspected.OCIv1.config.Entrypoint).toEqual([
            '/bin/busybox',
            'cp',
            '/plugins/kubevirt-velero-plugin',
            '/plugins/libstdc++.so.6',
            '/plugins/libgcc_s.so.1',
            '/target/',
        ]);
        expect(inspected.OCIv1.config.Cmd ?? []).toEqual([]);
    });

    it('holds exactly the static copier and /plugins, libraries not executable', () => {
        const container = buildah('from', TAG).trim();
        const root = inUserNamespace('buildah', ...storeArgs(), 'mount', container).trim();
        try {
            expect(walk(root).sort()).toEqual(['bin/busybox', 'plugins/kubevirt-velero-plugin', 'plugins/libgcc_s.so.1', 'plugins/libstdc++.so.6']);
            expect(mode(join(root, 'plugins', 'kubevirt-velero-plugin'))).toBe('755');
            expect(mode(join(root, 'plugins', 'libstdc++.so.6'))).toBe('644');
            expect(mode(join(root, 'plugins', 'libgcc_s.so.1'))).toBe('644');
            // scripts/elf.mjs reads the ELF headers (no `file` needed): no interpreter, no dynamic section.
            const busybox = JSON.parse(execFileSync(process.execPath, [join(REPO, 'scripts', 'elf.mjs'), 'describe', join(root, 'bin', 'busybox')]).toString()) as {
                staticallyLinked: boolean;
            };
            expect(busybox.staticallyLinked).toBe(true);
        } finally {
            inUserNamespace('buildah', ...storeArgs(), 'umount', container);
            buildah('rm', container);
        }
    });

    it('the entrypoint fills Velero’s plugin volume as the init container: executable plugin, non-executable libraries', () => {
        const target = join(store, 'target');
        mkdirSync(target);
        chmodSync(target, 0o777); // an emptyDir is writable by the init container's user
        const container = buildah('from', TAG).trim();
        const inspected = JSON.parse(buildah('inspect', '--type', 'image', TAG)) as { OCIv1: { config: { Entrypoint: string[] } } };
        buildah('run', '--isolation', 'chroot', '--user', '65532:65532', '-v', `${target}:/target`, container, '--', ...inspected.OCIv1.config.Entrypoint);
        buildah('rm', container);
        expect(readdirSync(target).sort()).toEqual(['kubevirt-velero-plugin', 'libgcc_s.so.1', 'libstdc++.so.6']);
        expect(mode(join(target, 'kubevirt-velero-plugin'))).toBe('755');
        expect(mode(join(target, 'libstdc++.so.6'))).toBe('644');
        expect(uidInContainer(join(target, 'kubevirt-velero-plugin'))).toBe(65532);
    });
});
