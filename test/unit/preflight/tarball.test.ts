/** The backup tarball reader treats the file as hostile: no path escapes, no links, bounded sizes. */
import { writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEFAULT_LIMITS, readBackupTarball, safePath, TarballError, untarSafe } from '../../../src/preflight/tarball';
import { tar, tarGz } from './helpers';
import { tempDir } from '../../support/temp-dir';

const VM_PATH = 'resources/virtualmachines.kubevirt.io/namespaces/ns/vm1.json';
const VM = JSON.stringify({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'vm1', namespace: 'ns' } });

function file(bytes: Buffer): string {
    const dir = tempDir('pf-tar-');
    const path = join(dir, 'b.tar.gz');
    writeFileSync(path, bytes);
    return path;
}

describe('backup tarball reader', () => {
    it('reads the items Velero writes and skips the preferred-version copies', () => {
        const contents = readBackupTarball(
            file(
                tarGz([
                    { name: 'metadata/version', data: '1' },
                    { name: VM_PATH, data: VM },
                    { name: 'resources/virtualmachines.kubevirt.io/v1-preferredversion/namespaces/ns/vm1.json', data: VM },
                ]),
            ),
        );
        expect(contents.list('virtualmachines.kubevirt.io').map((e) => e.name)).toEqual(['vm1']);
        expect(contents.get('virtualmachines.kubevirt.io', 'ns', 'vm1')?.kind).toBe('VirtualMachine');
    });

    it.each([['../../etc/passwd'], ['/etc/passwd'], ['resources/a/../b.json'], ['resources//x.json'], ['a\\b'], ['./']])('rejects the path %p', (p) => {
        expect(safePath(p)).toBeUndefined();
        const { files, rejected } = untarSafe(tar([{ name: p, data: 'x' }]));
        expect(files.size).toBe(0);
        expect(rejected).toEqual([p]);
    });

    it('ignores symlinks and directories; never follows them', () => {
        const { files, rejected } = untarSafe(
            tar([
                { name: VM_PATH, type: '2' },
                { name: 'resources/', type: '5' },
            ]),
        );
        expect(files.size).toBe(0);
        expect(rejected).toEqual([]);
    });

    it('refuses an entry over the per-entry limit and a stream that decompresses beyond the cap', () => {
        const big = untarSafe(tar([{ name: VM_PATH, data: Buffer.alloc(2048, 0x20) }]), { ...DEFAULT_LIMITS, maxEntryBytes: 1024 });
        expect(big.files.size).toBe(0);
        expect(big.rejected[0]).toMatch(/over 1024/);
        // 64 MB of zeros compresses to ~64 KB: a small file that must not be inflated without bound.
        const bomb = file(gzipSync(Buffer.alloc(64 * 1024 * 1024)));
        expect(() => readBackupTarball(bomb, { ...DEFAULT_LIMITS, maxTarBytes: 1024 * 1024 })).toThrow(/decompresses to more than 1048576 bytes/);
    });

    it('stops with an error on a bad checksum, a lying size, or a file that is not gzip', () => {
        expect(() => untarSafe(tar([{ name: VM_PATH, data: VM, badChecksum: true }]))).toThrow(TarballError);
        expect(() => untarSafe(tar([{ name: VM_PATH, data: VM, size: 10_000_000 }]))).toThrow(/truncated tar/);
        expect(() => readBackupTarball(file(Buffer.from('not gzip')))).toThrow(/not a gzip file/);
    });

    it('refuses something that is not a regular file', () => {
        const dir = tempDir('pf-tar-');
        symlinkSync('/dev/zero', join(dir, 'link.tar.gz'));
        expect(() => readBackupTarball(join(dir, 'link.tar.gz'))).toThrow(/not a regular file/);
        expect(() => readBackupTarball(dir)).toThrow(/not a regular file/);
    });

    it('an item that is not a JSON object reads as absent', () => {
        const { files } = untarSafe(tar([{ name: VM_PATH, data: '[1,2]' }]));
        expect(files.size).toBe(1);
    });
});
