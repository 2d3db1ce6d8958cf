/**
 * The lab's node, kubelet API and CSI snapshot machinery, all real components built from the Go module
 * proxy by scripts/build-go-tools.sh:
 *
 *  - kwok (sigs.k8s.io/kwok): manages the fake node `node01` (the samples' node) through its Stage CRDs
 *    (node-initialize, pod-create, pod-ready, pod-complete, pod-delete: kwok's own default stages, delays
 *    set to zero) and serves the kubelet API on loopback. kube-apiserver reaches it with --kubelet-*
 *    flags, so `kubectl exec` and Velero's exec hooks really go apiserver → kubelet API → kwok. A
 *    ClusterExec maps exec in the launcher pods' `compute` container to local commands; kwok runs in a
 *    private mount namespace where /usr/bin is overlaid with a directory holding our recorder as
 *    `virt-freezer`, so the hook command KubeVirt put on the pod (/usr/bin/virt-freezer --freeze ...)
 *    runs unchanged and is recorded (cluster-virt-freezer.sh; FreezerRecorder reads and steers it).
 *  - snapshot-controller and csi-snapshotter (external-snapshotter) with the csi-test mock CSI driver
 *    behind the sidecar, registered under the samples' driver name; a VolumeSnapshotClass labelled for
 *    Velero and the samples' StorageClass for that driver.
 *  - with the provisioning tools (scripts/build-go-tools-pv.sh): csi-provisioner (external-provisioner)
 *    on the same driver socket and kube-controller-manager running only its PersistentVolume binder, so
 *    restored claims are provisioned from their VolumeSnapshot (the mock driver's CreateVolume with the
 *    snapshot as content source) and bound. The StorageClass is then Immediate, else WaitForFirstConsumer
 *    (docs/decisions/021-lab-provisioning.md).
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../../src/kube/object';
import { parseAllDocuments } from 'yaml';
import { runOk, startDaemon } from './proc';

/** The node the samples' launcher pods run on (spec.nodeName); kwok manages it. */
export const KWOK_NODE = 'node01';
/** Annotation kwok selects its nodes by (--manage-nodes-with-annotation-selector). */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
/** The CSI driver name the mock driver registers: the samples' provisioner, so their PVs are its volumes. */
export const CSI_DRIVER = 'rook-ceph.rbd.csi.ceph.com';
/** The StorageClass of the samples, for CSI_DRIVER. */
export const STORAGE_CLASS = 'rook-ceph-block';
/** The VolumeSnapshotClass Velero picks for CSI_DRIVER (label velero.io/csi-volumesnapshot-class). */
export const SNAPSHOT_CLASS = 'kvp-lab-snapclass';

/** Paths of the kwok side of a lab (stored in LabState.kwok). */
export interface KwokState {
    node: string;
    port: number;
    /** JSON lines the virt-freezer recorder appends (FreezerEvent). */
    freezerLog: string;
    /** Directory of the recorder's switch files. */
    freezerCtl: string;
}

export interface CsiState {
    driver: string;
    storageClass: string;
    snapshotClass: string;
    socket: string;
    /** The mock driver's log: one `gRPCCall: {json}` line per CSI call (mockCalls reads it). */
    driverLog?: string;
    /** csi-provisioner and the PV binder run: restored claims are provisioned from their snapshots. */
    provisioning?: boolean;
    /** volumeBindingMode of `storageClass`. */
    bindingMode?: 'Immediate' | 'WaitForFirstConsumer';
}

/** One CSI call as the mock driver logged it (request and response as protobuf JSON, snake_case). */
export interface MockCsiCall {
    method: string;
    request: Record<string, unknown>;
    response: Record<string, unknown> | null;
    error: string;
}

/** Every CSI call the mock driver logged so far (optionally only those whose method ends with `method`). */
export function mockCalls(csi: CsiState, method?: string): MockCsiCall[] {
    if (csi.driverLog === undefined || !existsSync(csi.driverLog)) return [];
    const calls: MockCsiCall[] = [];
    for (const line of readFileSync(csi.driverLog, 'utf8').split('\n')) {
        const i = line.indexOf('gRPCCall: {');
        if (i < 0) continue;
        try {
            const c = JSON.parse(line.slice(i + 'gRPCCall: '.length)) as {
                Method?: string;
                Request?: Record<string, unknown>;
                Response?: Record<string, unknown> | null;
                Error?: string;
            };
            const m = c.Method ?? '';
            if (method !== undefined && !m.endsWith(`/${method}`)) continue;
            calls.push({ method: m, request: c.Request ?? {}, response: c.Response ?? null, error: c.Error ?? '' });
        } catch {
            // a line cut by a concurrent write: the next read sees it whole
        }
    }
    return calls;
}

/** One line of the recorder's log. */
export interface FreezerEvent {
    time: string;
    event: 'start' | 'end';
    action: 'freeze' | 'unfreeze' | '';
    namespace: string;
    name: string;
    mode: string;
    result: '' | 'ok' | 'fail' | 'no-agent' | 'killed';
    pid: number;
}

export type FreezerMode = 'ok' | 'fail' | 'hang' | 'no-agent';

/** Reads and steers the lab's virt-freezer recorder. */
export class FreezerRecorder {
    constructor(readonly state: KwokState) {}

    /** Every recorded event, in order (optionally of one namespace). */
    events(namespace?: string): FreezerEvent[] {
        if (!existsSync(this.state.freezerLog)) return [];
        return readFileSync(this.state.freezerLog, 'utf8')
            .split('\n')
            .filter((l) => l.trim() !== '')
            .map((l) => JSON.parse(l) as FreezerEvent)
            .filter((e) => namespace === undefined || e.namespace === namespace);
    }

    /**
     * What the next freeze/unfreeze of a VMI (or of every VMI of a namespace: name undefined) does. `hang`
     * sleeps `seconds` (default 300). Cleared by clear(namespace).
     */
    set(namespace: string, name: string | undefined, action: 'freeze' | 'unfreeze', mode: FreezerMode, seconds?: number): void {
        const dir = join(this.state.freezerCtl, namespace);
        mkdirSync(dir, { recursive: true });
        const file = join(dir, name === undefined ? action : `${name}.${action}`);
        writeFileSync(file, `${mode}${seconds === undefined ? '' : ` ${seconds}`}\n`);
    }

    /** Removes the switches of a namespace. */
    clear(namespace: string): void {
        rmSync(join(this.state.freezerCtl, namespace), { recursive: true, force: true });
    }
}

/** Zeroes the delays of kwok's default stages (each adds 1 s + up to 5 s of jitter per pod otherwise). */
export function fastStage(stage: KubeObject): KubeObject {
    const s = JSON.parse(JSON.stringify(stage)) as KubeObject & { spec?: { delay?: Record<string, unknown> } };
    const d = s.spec?.delay;
    if (d !== undefined) {
        d['durationMilliseconds'] = 0;
        delete d['jitterDurationMilliseconds'];
    }
    return s;
}

async function openssl(args: string[]): Promise<void> {
    await runOk('openssl', args);
}

/**
 * Certificates for the kubelet API path: kwok's serving certificate (IP SAN 127.0.0.1, signed by the lab
 * CA, which kube-apiserver trusts through --kubelet-certificate-authority) and kube-apiserver's client
 * certificate for the kubelet API.
 */
export async function kubeletPki(dir: string, caCert: string, caKey: string): Promise<{ serverCert: string; serverKey: string; clientCert: string; clientKey: string }> {
    mkdirSync(dir, { recursive: true });
    const issue = async (name: string, subject: string, ext: string): Promise<[string, string]> => {
        const key = join(dir, `${name}.key`);
        const csr = join(dir, `${name}.csr`);
        const crt = join(dir, `${name}.crt`);
        const extFile = join(dir, `${name}.ext`);
        await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', subject, '-keyout', key, '-out', csr]);
        writeFileSync(extFile, ext);
        await openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-extfile', extFile, '-out', crt]);
        return [crt, key];
    };
    const [serverCert, serverKey] = await issue(
        'kwok-kubelet',
        `/CN=${KWOK_NODE}`,
        'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
    );
    const [clientCert, clientKey] = await issue(
        'apiserver-kubelet-client',
        '/O=system:masters/CN=kube-apiserver-kubelet-client',
        'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
    );
    return { serverCert, serverKey, clientCert, clientKey };
}

/** The kube-apiserver flags that make it reach kwok's kubelet API on 127.0.0.1. */
export function apiserverKubeletFlags(caCert: string, pki: { clientCert: string; clientKey: string }): string[] {
    return [
        `--kubelet-certificate-authority=${caCert}`,
        `--kubelet-client-certificate=${pki.clientCert}`,
        `--kubelet-client-key=${pki.clientKey}`,
        '--kubelet-preferred-address-types=InternalIP',
    ];
}

/** Minimal view of the Lab that this module needs (avoids an import cycle on the class). */
export interface ClusterLab {
    readonly workDir: string;
    readonly kubeconfig: string;
    readonly state: { registry: string; toolsDir: string };
    apply(objs: KubeObject[] | string): Promise<KubeObject[]>;
    kubectl(args: string[], input?: string): Promise<string>;
    getJson(resource: string, ns: string, name: string): Promise<KubeObject | undefined>;
    waitFor<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs: number, what: string, intervalMs?: number): Promise<T>;
}

/**
 * Starts kwok against the lab (its CRDs must be installed), applies its stages and the ClusterExec of the
 * launcher pods, creates node01 and waits until it is Ready.
 */
export async function startKwok(lab: ClusterLab, opts: { port: number; logDir: string; serverCert: string; serverKey: string; repo: string }): Promise<KwokState> {
    const tools = lab.state.toolsDir;
    const dir = join(lab.workDir, 'kwok');
    const overlay = join(dir, 'usr-bin');
    const ctl = join(dir, 'freezer-ctl');
    for (const d of [dir, overlay, ctl]) mkdirSync(d, { recursive: true });
    const freezerLog = join(dir, 'virt-freezer.jsonl');
    writeFileSync(freezerLog, '');
    copyFileSync(join(opts.repo, 'test', 'lab', 'cluster-virt-freezer.sh'), join(overlay, 'virt-freezer'));
    chmodSync(join(overlay, 'virt-freezer'), 0o755);

    const stagesDir = join(tools, 'kwok', 'stages');
    const stages = readdirSync(stagesDir)
        .filter((f) => f.endsWith('.yaml'))
        .flatMap((f) => parseAllDocuments(readFileSync(join(stagesDir, f), 'utf8')).map((d) => d.toJS() as KubeObject))
        .filter((o) => o !== null && typeof o === 'object')
        .map(fastStage);
    await lab.apply([
        ...stages,
        {
            apiVersion: 'kwok.x-k8s.io/v1alpha1',
            kind: 'ClusterExec',
            metadata: { name: 'virt-launcher-compute' },
            spec: {
                execs: [
                    {
                        containers: ['compute'],
                        local: {
                            envs: [
                                { name: 'KVP_FREEZER_LOG', value: freezerLog },
                                { name: 'KVP_FREEZER_CTL', value: ctl },
                                { name: 'KVP_KUBECTL', value: join(tools, 'bin', 'kubectl') },
                                { name: 'KVP_KUBECONFIG', value: lab.kubeconfig },
                            ],
                        },
                    },
                ],
            },
        },
    ]);

    const kwokArgs = [
        `--kubeconfig=${lab.kubeconfig}`,
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
        '--node-ip=127.0.0.1',
        `--node-port=${opts.port}`,
        `--server-address=127.0.0.1:${opts.port}`,
        `--tls-cert-file=${opts.serverCert}`,
        `--tls-private-key-file=${opts.serverKey}`,
        '--enable-crds=Stage,Exec,ClusterExec',
        '--node-lease-duration-seconds=0',
        '-v=INFO',
    ];
    // A private mount namespace where /usr/bin = our overlay dir over the host's /usr/bin: the hook
    // command /usr/bin/virt-freezer resolves to the recorder for kwok's children only.
    const script = 'mount -t overlay kvp-lab-usr-bin -o "lowerdir=$1:/usr/bin" /usr/bin && shift && exec "$@"';
    const unshare = process.getuid?.() === 0 ? ['--mount', '--propagation', 'private'] : ['--user', '--map-root-user', '--mount', '--propagation', 'private'];
    startDaemon(
        lab.state.registry,
        'kwok',
        'unshare',
        [...unshare, 'sh', '-c', script, 'kwok-overlay', overlay, join(tools, 'bin', 'kwok'), ...kwokArgs],
        join(opts.logDir, 'kwok.log'),
        // HOME: kwok reads ~/.kwok/kwok.yaml when present; the lab wants kwok's defaults only.
        { ...process.env, HOME: dir },
    );
    await lab.apply([
        {
            apiVersion: 'v1',
            kind: 'Node',
            metadata: {
                name: KWOK_NODE,
                annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
                labels: { 'kubernetes.io/hostname': KWOK_NODE, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok', 'kubevirt.io/schedulable': 'true' },
            },
            spec: {},
        },
    ]);
    await lab.waitFor(
        async () => {
            const node = await lab.getJson('nodes', '', KWOK_NODE);
            const conds = (node?.['status'] as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
            return conds.some((c) => c.type === 'Ready' && c.status === 'True');
        },
        60_000,
        `node ${KWOK_NODE} Ready (kwok)`,
        100,
    );
    return { node: KWOK_NODE, port: opts.port, freezerLog, freezerCtl: ctl };
}

/**
 * Starts the CSI driver (csi-test mock driver, named CSI_DRIVER), the csi-snapshotter sidecar on its
 * socket and the snapshot-controller, and applies the StorageClass and the VolumeSnapshotClass. With
 * `pvToolsDir` (scripts/build-go-tools-pv.sh) also csi-provisioner on the same socket and
 * kube-controller-manager with only the PersistentVolume binder, and the StorageClass is Immediate.
 */
export async function startCsi(lab: ClusterLab, opts: { logDir: string; pvToolsDir?: string | undefined }): Promise<CsiState> {
    const bin = (n: string): string => join(lab.state.toolsDir, 'bin', n);
    const dir = join(lab.workDir, 'csi');
    mkdirSync(dir, { recursive: true });
    const socket = join(dir, 'csi.sock');
    const driverLog = join(opts.logDir, 'csi-mock-driver.log');
    startDaemon(lab.state.registry, 'csi-mock-driver', bin('mock-driver'), [`--name=${CSI_DRIVER}`], driverLog, {
        ...process.env,
        CSI_ENDPOINT: `unix://${socket}`,
    });
    await lab.waitFor(() => existsSync(socket), 30_000, 'CSI mock driver socket', 100);
    startDaemon(
        lab.state.registry,
        'csi-snapshotter',
        bin('csi-snapshotter'),
        [`--kubeconfig=${lab.kubeconfig}`, `--csi-address=${socket}`, '--leader-election=false', '--timeout=30s', '--v=3'],
        join(opts.logDir, 'csi-snapshotter.log'),
    );
    startDaemon(
        lab.state.registry,
        'snapshot-controller',
        bin('snapshot-controller'),
        [`--kubeconfig=${lab.kubeconfig}`, '--leader-election=false', '--v=3'],
        join(opts.logDir, 'snapshot-controller.log'),
    );
    const provisioning = opts.pvToolsDir !== undefined;
    if (opts.pvToolsDir !== undefined) {
        const pvBin = (n: string): string => join(opts.pvToolsDir ?? '', 'bin', n);
        startDaemon(
            lab.state.registry,
            'csi-provisioner',
            pvBin('csi-provisioner'),
            [`--kubeconfig=${lab.kubeconfig}`, `--csi-address=${socket}`, '--leader-election=false', '--timeout=30s', '--retry-interval-max=5s', '--v=3'],
            join(opts.logDir, 'csi-provisioner.log'),
        );
        // Only the PersistentVolume binder: it marks unbound claims of an Immediate class for the
        // external provisioner and binds claim and volume. No other controller runs (the lab's
        // deleteNamespace does the namespace controller's and the garbage collector's work).
        startDaemon(
            lab.state.registry,
            'kube-controller-manager',
            pvBin('kube-controller-manager'),
            [
                `--kubeconfig=${lab.kubeconfig}`,
                '--controllers=persistentvolume-binder-controller',
                '--leader-elect=false',
                '--secure-port=0',
                '--pvclaimbinder-sync-period=2s',
                '--v=2',
            ],
            join(opts.logDir, 'kube-controller-manager.log'),
        );
    }
    const bindingMode = provisioning ? 'Immediate' : 'WaitForFirstConsumer';
    await lab.apply([
        {
            apiVersion: 'storage.k8s.io/v1',
            kind: 'StorageClass',
            metadata: { name: STORAGE_CLASS },
            provisioner: CSI_DRIVER,
            reclaimPolicy: 'Delete',
            // With the provisioner: Immediate (as Rook's RBD class), so a restored claim (data source:
            // its VolumeSnapshot) is provisioned from the snapshot and bound at once, and Velero's restore
            // finalizer waits for that binding before the restore is Completed. Without it:
            // WaitForFirstConsumer, which Velero does not wait for (with Immediate and no provisioner the
            // restore sat in Finalizing until --resource-timeout). docs/decisions/021-lab-provisioning.md.
            volumeBindingMode: bindingMode,
            allowVolumeExpansion: true,
        },
        {
            apiVersion: 'snapshot.storage.k8s.io/v1',
            kind: 'VolumeSnapshotClass',
            metadata: { name: SNAPSHOT_CLASS, labels: { 'velero.io/csi-volumesnapshot-class': 'true' } },
            driver: CSI_DRIVER,
            deletionPolicy: 'Delete',
        },
    ]);
    return { driver: CSI_DRIVER, storageClass: STORAGE_CLASS, snapshotClass: SNAPSHOT_CLASS, socket, driverLog, provisioning, bindingMode };
}

/**
 * Where a restored claim's volume came from, from the objects and the mock driver's log: the claim's
 * phase and data source, the VolumeSnapshot's content and its snapshot handle, the PersistentVolume it
 * is bound to and that volume's handle, and the driver's CreateVolume calls for that volume (csi-provisioner
 * names the CSI volume after the PV): their content source and the volume id the driver answered.
 */
export interface RestoredDisk {
    claim: string;
    phase?: string;
    dataSource?: string;
    snapshotHandle?: string;
    pv?: string;
    pvDriver?: string;
    volumeHandle?: string;
    /** The PV's claimRef points at this claim (namespace, name and uid). */
    pvClaimRefMatches: boolean;
    createVolume: { fromSnapshot?: string; volumeId?: string; error: string }[];
}

type DiskLab = Pick<ClusterLab, 'getJson'> & { state: { csi?: CsiState } };

/** The snapshot handle behind a VolumeSnapshot: its bound content's status (or, pre-provisioned, spec) handle. */
async function snapshotHandleOf(lab: DiskLab, ns: string, volumeSnapshot: string): Promise<string | undefined> {
    const vs = await lab.getJson('volumesnapshots.snapshot.storage.k8s.io', ns, volumeSnapshot);
    const content = (vs?.status as { boundVolumeSnapshotContentName?: string } | undefined)?.boundVolumeSnapshotContentName;
    if (content === undefined) return undefined;
    const vsc = await lab.getJson('volumesnapshotcontents.snapshot.storage.k8s.io', '', content);
    return (vsc?.status as { snapshotHandle?: string } | undefined)?.snapshotHandle ?? (vsc?.spec as { source?: { snapshotHandle?: string } } | undefined)?.source?.snapshotHandle;
}

/** The driver's CreateVolume calls for the CSI volume named `name` (csi-provisioner names it after the PV). */
function createVolumeCalls(csi: CsiState | undefined, name: string): RestoredDisk['createVolume'] {
    if (csi === undefined) return [];
    return mockCalls(csi, 'CreateVolume')
        .filter((c) => c.request['name'] === name)
        .map((c) => {
            const snap = (c.request['volume_content_source'] as { Type?: { Snapshot?: { snapshot_id?: string } } } | undefined)?.Type?.Snapshot?.snapshot_id;
            const vol = (c.response?.['volume'] as { volume_id?: string } | undefined)?.volume_id;
            return { ...(snap === undefined ? {} : { fromSnapshot: snap }), ...(vol === undefined ? {} : { volumeId: vol }), error: c.error };
        });
}

/** What a PersistentVolume says about the claim it is bound to. */
function pvFacts(pv: KubeObject | undefined, ns: string, claim: string, uid: string | undefined): Pick<RestoredDisk, 'pvDriver' | 'volumeHandle' | 'pvClaimRefMatches'> {
    const spec = (pv?.spec ?? {}) as { csi?: { driver?: string; volumeHandle?: string }; claimRef?: { namespace?: string; name?: string; uid?: string } };
    const csi = spec.csi ?? {};
    const ref = spec.claimRef ?? {};
    return {
        ...(csi.driver === undefined ? {} : { pvDriver: csi.driver }),
        ...(csi.volumeHandle === undefined ? {} : { volumeHandle: csi.volumeHandle }),
        pvClaimRefMatches: ref.namespace === ns && ref.name === claim && uid !== undefined && ref.uid === uid,
    };
}

export async function restoredDisk(lab: DiskLab, ns: string, claim: string): Promise<RestoredDisk> {
    const pvc = await lab.getJson('persistentvolumeclaims', ns, claim);
    const spec = (pvc?.spec ?? {}) as { dataSource?: { kind?: string; name?: string }; volumeName?: string };
    const src = spec.dataSource;
    const phase = (pvc?.status as { phase?: string } | undefined)?.phase;
    const handle = src?.kind === 'VolumeSnapshot' && src.name !== undefined ? await snapshotHandleOf(lab, ns, src.name) : undefined;
    const out: RestoredDisk = {
        claim,
        ...(phase === undefined ? {} : { phase }),
        ...(src === undefined ? {} : { dataSource: `${src.kind ?? '?'} ${src.name ?? '?'}` }),
        ...(handle === undefined ? {} : { snapshotHandle: handle }),
        pvClaimRefMatches: false,
        createVolume: [],
    };
    const pvName = spec.volumeName ?? '';
    if (pvName === '') return out;
    const pv = await lab.getJson('persistentvolumes', '', pvName);
    return { ...out, pv: pvName, ...pvFacts(pv, ns, claim, pvc?.metadata?.uid), createVolume: createVolumeCalls(lab.state.csi, pvName) };
}
