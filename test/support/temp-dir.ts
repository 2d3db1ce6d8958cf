/**
 * Temporary directories that a test file removes when it ends. tempDir() creates one under the OS
 * temporary directory (TMPDIR); every directory made through this module is removed in an afterAll of the
 * test file that loaded it (jest loads modules once per test file), so no run leaves kubeconfigs, keys or
 * tarballs behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

afterAll(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new empty directory `<TMPDIR>/<prefix>XXXXXX`, removed when the test file ends. */
export function tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
}
