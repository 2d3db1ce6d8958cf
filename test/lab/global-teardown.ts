/** jest globalTeardown of the lab suite: stops the lab the globalSetup started. */
import { rmSync } from 'node:fs';
import { SHARED_LAB_FILE } from './lab';

export default async function globalTeardown(): Promise<void> {
    const lab = globalThis.__KVP_LAB__;
    globalThis.__KVP_LAB__ = undefined;
    if (lab !== undefined) await lab.stop();
    rmSync(SHARED_LAB_FILE, { force: true });
}
