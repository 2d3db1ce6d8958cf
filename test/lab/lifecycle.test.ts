/**
 * Nothing is left running: stop(), Ctrl-C (SIGINT) of the process that started a lab, and even SIGKILL
 * of it (the watchdog stops the lab) end every lab process. Each case starts its own lab next to the
 * shared one and recognises its processes by the work directory in their command lines.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, startLab } from './lab';
import { processesMatching } from './proc';

const HOLD_BUNDLE = join(REPO, 'build', 'lab', 'hold-lab.cjs');

async function until(fn: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (fn()) return true;
        await new Promise((r) => setTimeout(r, 200));
    }
    return fn();
}

/** Starts test/lab/testdata/hold-lab.ts in a child Node process; resolves with its work directory. */
function holdLab(): Promise<{ child: ChildProcess; workDir: string; exited: Promise<number | string> }> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [HOLD_BUNDLE], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KVP_LAB_QUIET: '1' } });
        const exited = new Promise<number | string>((r) => child.on('exit', (code, sig) => r(code ?? sig ?? -1)));
        let out = '';
        let err = '';
        child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
        child.stdout?.on('data', (b: Buffer) => {
            out += b.toString();
            const m = /READY (\S+)/.exec(out);
            if (m?.[1] !== undefined) resolve({ child, workDir: m[1], exited });
        });
        void exited.then((code) => reject(new Error(`hold-lab exited (${String(code)}) before READY: ${err}`)));
    });
}

beforeAll(() => {
    execFileSync(join(REPO, 'node_modules', '.bin', 'esbuild'), [
        join(REPO, 'test', 'lab', 'testdata', 'hold-lab.ts'),
        '--bundle',
        '--platform=node',
        '--packages=external',
        `--outfile=${HOLD_BUNDLE}`,
        '--log-level=warning',
    ]);
});

describe('lab lifecycle', () => {
    it('stop() ends etcd, kube-apiserver, velero and the watchdog, and removes the work directory', async () => {
        const lab = await startLab({});
        const running = processesMatching(lab.workDir);
        expect(running.filter((l) => /\/(etcd|kube-apiserver|velero) /.test(l) || l.includes('watchdog')).length).toBeGreaterThanOrEqual(4);
        await lab.stop();
        expect(processesMatching(lab.workDir)).toEqual([]);
        expect(existsSync(lab.workDir)).toBe(false);
    });

    it('SIGINT (Ctrl-C) of the owning process stops every lab process', async () => {
        const { child, workDir, exited } = await holdLab();
        expect(processesMatching(workDir).length).toBeGreaterThanOrEqual(4);
        const t0 = Date.now();
        child.kill('SIGINT');
        expect(await exited).toBe(130);
        expect(Date.now() - t0).toBeLessThan(15_000); // no waiting on zombies while the handler blocks
        expect(processesMatching(workDir)).toEqual([]);
        expect(existsSync(workDir)).toBe(false);
    });

    it('SIGKILL of the owning process: the watchdog stops every lab process', async () => {
        const { child, workDir, exited } = await holdLab();
        expect(processesMatching(workDir).length).toBeGreaterThanOrEqual(4);
        child.kill('SIGKILL');
        expect(await exited).toBe('SIGKILL');
        expect(await until(() => processesMatching(workDir).length === 0, 30_000)).toBe(true);
        rmSync(workDir, { recursive: true, force: true });
    });
});
