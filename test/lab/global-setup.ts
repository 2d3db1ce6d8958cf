/**
 * jest globalSetup of the lab suite: starts ONE lab (or connects to KVP_LAB_KUBECONFIG) and writes its
 * connection info to build/lab/lab.json for connectLab(). Builds nothing: scripts/test.sh ran setup and
 * exported KVP_TOOLS_DIR (without it, scripts/build-go-tools.sh is asked for the cache directory).
 * Process logs go to build/lab/logs/ and stay there after the run.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, SHARED_LAB_FILE, startLab } from './lab';

export default async function globalSetup(): Promise<void> {
    const logDir = join(REPO, 'build', 'lab', 'logs');
    rmSync(logDir, { recursive: true, force: true });
    mkdirSync(logDir, { recursive: true });
    // The shared lab keeps the suites' original world (no kubelet, no CSI snapshots): their expectations
    // (hooks fail with `pods "node01" not found`, --snapshot-volumes=false) predate kwok and the CSI
    // machinery. The partner and failure scenarios start their own full lab (startLab defaults).
    const lab = await startLab({ logDir, kwok: false, csi: false });
    lab.writeStateFile(SHARED_LAB_FILE);
    globalThis.__KVP_LAB__ = lab;
}
