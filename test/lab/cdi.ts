/**
 * CDI's real controller in the lab: `cdi-controller` (kubevirt.io/containerized-data-importer, the tag
 * of test/tools/versions.env CDI_VERSION) built by scripts/build-go-tools-cdi.sh, run as a process
 * against the lab's kube-apiserver (decision 022). What it needs, and nothing else:
 *
 *  - every CRD it watches: CDI's operator CRDs printed by the `cdi-crds` tool of the same tag
 *    (CDIConfig, StorageProfile, DataImportCron, ObjectTransfer, the volume populator sources, ...;
 *    the main lab installs only DataVolume and DataSource);
 *  - its namespace `cdi` (leader election lease, its ConfigMaps and Secrets cache);
 *  - a CDI CR `cdi` with an empty spec: without one the import controller makes no importer pod
 *    ("no active CDI"), which the test's control case needs; adoption itself does not read it;
 *  - the five image/service environment variables it refuses to start without; the values name
 *    images that are never pulled (nothing here creates an importer, cloner or upload pod, and the
 *    test asserts that no such pod appears);
 *  - the clone token key pair, read at start-up from the fixed path /var/run/cdi/token/keys: a fresh
 *    RSA pair in a private mount namespace where /run is a tmpfs holding only that directory.
 *
 * It serves its metrics on the fixed address :8443 (not configurable), so one lab per host runs it.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseYamlObjects, type Lab } from './lab';
import { startDaemon } from './proc';

/** The namespace cdi-controller runs in (its default when no service account namespace file exists). */
export const CDI_NAMESPACE = 'cdi';

/** Images cdi-controller requires to be named; nothing in the lab pulls them. */
const NEVER_PULLED = 'kvp-lab.invalid/never-pulled';

/**
 * The CDI tools' cache directory: KVP_CDI_TOOLS_DIR, else undefined (the lab test then does not run;
 * scripts/test.sh builds them with scripts/build-go-tools-cdi.sh and sets it).
 */
export function cdiToolsDir(): string | undefined {
    const env = process.env['KVP_CDI_TOOLS_DIR'];
    if (env === undefined || env === '') return undefined;
    return existsSync(join(env, '.complete')) ? env : undefined;
}

export interface CdiController {
    log: string;
    pid: number;
}

/** Installs CDI's CRDs and namespace and starts cdi-controller; resolves when its CDIConfig exists. */
export async function startCdiController(lab: Lab, tools: string, logDir: string): Promise<CdiController> {
    const crds = parseYamlObjects(execFileSync(join(tools, 'bin', 'cdi-crds'), { encoding: 'utf8', maxBuffer: 64 << 20 }));
    await lab.apply(crds);
    for (const crd of crds) {
        const name = crd.metadata?.name ?? '';
        await lab.waitFor(
            async () => {
                const c = await lab.getJson('customresourcedefinitions', '', name);
                const conds = (c?.['status'] as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
                return conds.some((x) => x.type === 'Established' && x.status === 'True');
            },
            30_000,
            `CRD ${name} established`,
            100,
        );
    }
    // The CDI CR (what CDI's operator is installed with; empty spec = defaults): the import controller
    // refuses to make an importer pod without an active one ("no active CDI"). Adoption does not read it.
    await lab.apply([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: CDI_NAMESPACE } },
        { apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'CDI', metadata: { name: 'cdi' }, spec: {} },
    ]);

    const dir = join(lab.workDir, 'cdi');
    const keys = join(dir, 'token-keys');
    mkdirSync(keys, { recursive: true });
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(keys, 'id_rsa'), privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(keys, 'id_rsa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));

    // /var/run/cdi/token/keys is a fixed path in CDI: a private mount namespace with /run as a tmpfs.
    const script = 'mount -t tmpfs kvp-lab-cdi-run /run && mkdir -p /run/cdi/token && cp -r "$1" /run/cdi/token/keys && shift && exec "$@"';
    const unshare = process.getuid?.() === 0 ? ['--mount', '--propagation', 'private'] : ['--user', '--map-root-user', '--mount', '--propagation', 'private'];
    const log = join(logDir, 'cdi-controller.log');
    const daemon = startDaemon(
        lab.state.registry,
        'cdi-controller',
        'unshare',
        [...unshare, 'sh', '-c', script, 'cdi-run', keys, join(tools, 'bin', 'cdi-controller'), `--kubeconfig=${lab.kubeconfig}`, '-v=2'],
        log,
        {
            ...process.env,
            KUBECONFIG: lab.kubeconfig,
            IMPORTER_IMAGE: `${NEVER_PULLED}/cdi-importer`,
            CLONER_IMAGE: `${NEVER_PULLED}/cdi-cloner`,
            UPLOADSERVER_IMAGE: `${NEVER_PULLED}/cdi-uploadserver`,
            OVIRT_POPULATOR_IMAGE: `${NEVER_PULLED}/ovirt-populator`,
            UPLOADPROXY_SERVICE: 'cdi-uploadproxy',
        },
    );
    await lab.waitFor(() => lab.getJson('cdiconfigs.cdi.kubevirt.io', '', 'config'), 120_000, 'cdi-controller to create CDIConfig config', 250);
    return { log, pid: daemon.pid };
}
