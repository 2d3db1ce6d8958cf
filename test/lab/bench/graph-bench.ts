/**
 * Benchmark (not a test) of the cluster-access layer under the backup actions, against the lab's real
 * kube-apiserver: N running VMs in one namespace (default 1,000), each with two Succeeded DataVolumes
 * (one a dataVolumeTemplate owned by the VM, one standalone) and their Bound PVCs and PVs, a cloud-init
 * Secret, its VMI and a Running virt-launcher pod. Objects are created directly through the API (POST,
 * then merge patches of /status; VMIs carry their status in the POST body as their CRD has no status
 * subresource), many requests in flight.
 *
 * Then, in a fresh child process per run (one process = one plugin process: one KubeCluster, cold
 * caches, @kubernetes/client-node loaded on the first read), the backup action cores are called for
 * every item of a namespace backup, one item at a time as Velero does, with resetRequestStats() before
 * and requestStats() after. Two item orders:
 *   brief:  every VM (ItemBlockAction, then VM action), every VMI (ItemBlockAction, VMI action), every
 *           DataVolume, every PVC (DataVolume action, PVC action);
 *   velero: the order Velero 1.18's item collector produces for a namespace backup (core group first
 *           with pods, then PVCs; then API groups: cdi.kubevirt.io DataVolumes, then kubevirt.io VMIs
 *           and VMs), each item's ItemBlockAction just before its BackupItemActions. Velero runs the
 *           ItemBlockActions in its collection loop, ahead of the block workers, so the real interleaving
 *           lies between the two orders.
 * Optionally (--velero) the same namespace is backed up by the velero server with the real plugin
 * binary, and the duration and the plugin's own request log are reported.
 *
 * Run: bash scripts/bench-graph.sh [--vms N] [--velero] [--preflight] [--profile] [--keep]
 * (--preflight: `kubevirt-velero-plugin preflight backup` over the same namespace, see preflightRun)
 * (--profile: V8 CPU profiles of the action processes in build/bench/prof/)
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { dataVolumeBackupAction } from '../../../src/backup-item-actions/datavolume';
import { podItemBlockAction, vmItemBlockAction } from '../../../src/item-block-actions/itemblock';
import { pvcBackupAction } from '../../../src/backup-item-actions/pvc';
import { vmBackupAction } from '../../../src/backup-item-actions/vm';
import { vmiBackupAction } from '../../../src/backup-item-actions/vmi';
import { defaultConfigLoader } from '../../../src/cluster/config';
import { KubeCluster } from '../../../src/cluster/kube';
import { formatRequestStats, requestStats, resetRequestStats, type RequestStats } from '../../../src/cluster/stats';
import { errorMessage } from '../../../src/errors';
import { runBackupAction, runItemBlockAction } from '../../../src/plugin/adapter';
import type { ActionDeps } from '../../../src/plugin/contract';
import type { KubeObject } from '../../../src/kube/object';
import type { Backup } from '../../../src/kube/velero';
import { Logger } from '../../../src/logging/logger';
import { pluginLogLines, REPO, startLab, type Lab } from '../lab';

const NS = 'bench-graph';
const TARGET_LISTS = 1;
const TARGET_PER_VM = 2;
const TARGET_SECONDS = 5;

// ---- a small API client for creating objects fast (its requests are not counted) ----------------------

interface Response {
    status: number;
    body: string;
}

class Api {
    private readonly agent: https.Agent;
    private constructor(
        private readonly server: URL,
        tls: https.AgentOptions,
    ) {
        this.agent = new https.Agent({ ...tls, keepAlive: true, maxSockets: 24 });
    }

    static async fromKubeconfig(path: string): Promise<Api> {
        const k8s = await import('@kubernetes/client-node');
        const kc = new k8s.KubeConfig();
        kc.loadFromFile(path);
        const cluster = kc.getCurrentCluster();
        if (!cluster) throw new Error(`${path}: no current cluster`);
        const opts: https.RequestOptions = {};
        await kc.applyToHTTPSOptions(opts);
        return new Api(new URL(cluster.server), { ca: opts.ca, cert: opts.cert, key: opts.key });
    }

    close(): void {
        this.agent.destroy();
    }

    private once(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Response> {
        return new Promise((resolve, reject) => {
            const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
            const req = https.request(
                {
                    agent: this.agent,
                    hostname: this.server.hostname,
                    port: this.server.port,
                    method,
                    path,
                    timeout: 60_000,
                    headers: { accept: 'application/json', ...(data ? { 'content-type': contentType, 'content-length': data.length } : {}) },
                },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on('data', (c: Buffer) => chunks.push(c));
                    res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
                    res.on('error', reject);
                },
            );
            req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
            req.on('error', reject);
            req.end(data);
        });
    }

    /** One request, retried on 429/5xx/connection errors; throws on any other non-2xx. */
    async request(method: string, path: string, body?: unknown, contentType?: string): Promise<unknown> {
        for (let attempt = 1; ; attempt++) {
            let res: Response | undefined;
            let failure = '';
            try {
                res = await this.once(method, path, body, contentType);
            } catch (error) {
                failure = errorMessage(error);
            }
            if (res && res.status >= 200 && res.status < 300) return JSON.parse(res.body) as unknown;
            if (res && res.status !== 429 && res.status < 500) throw new Error(`${method} ${path}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
            if (attempt >= 6) throw new Error(`${method} ${path}: ${res ? `HTTP ${res.status}` : failure} after ${attempt} attempts`);
            await new Promise((r) => setTimeout(r, 200 * attempt));
        }
    }

    async create(collection: string, obj: KubeObject): Promise<KubeObject> {
        return (await this.request('POST', collection, obj)) as KubeObject;
    }

    async patchStatus(collection: string, name: string, status: unknown): Promise<void> {
        await this.request('PATCH', `${collection}/${encodeURIComponent(name)}/status`, { status }, 'application/merge-patch+json');
    }

    async list(collection: string): Promise<KubeObject[]> {
        const parsed = (await this.request('GET', collection)) as { apiVersion?: string; kind?: string; items?: KubeObject[] };
        const kind = (parsed.kind ?? '').replace(/List$/, '');
        // As Velero sends them: with apiVersion and kind.
        return (parsed.items ?? []).map((i) => ({ apiVersion: parsed.apiVersion, kind, ...i }));
    }
}

const PATH = {
    secrets: `/api/v1/namespaces/${NS}/secrets`,
    pods: `/api/v1/namespaces/${NS}/pods`,
    pvcs: `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
    pvs: '/api/v1/persistentvolumes',
    vms: `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines`,
    vmis: `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachineinstances`,
    vmirs: `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachineinstancereplicasets`,
    dvs: `/apis/cdi.kubevirt.io/v1beta1/namespaces/${NS}/datavolumes`,
};

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
        while (next < items.length) {
            const i = next++;
            await fn(items[i] as T);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// ---- the objects ---------------------------------------------------------------------------------------

const STORAGE_CLASS = 'bench-graph-sc';
const CSI_DRIVER = 'kvp-lab.csi.example.com';
const NOW = '2026-05-04T09:14:05Z';

function vmName(i: number): string {
    return `vm-${String(i).padStart(4, '0')}`;
}

function owner(obj: KubeObject): Record<string, unknown> {
    return { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata?.name, uid: obj.metadata?.uid, controller: true, blockOwnerDeletion: true };
}

function vmiSpec(name: string): Record<string, unknown> {
    return {
        domain: {
            devices: {
                disks: [
                    { name: 'rootdisk', disk: { bus: 'virtio' } },
                    { name: 'datadisk', disk: { bus: 'virtio' } },
                    { name: 'cloudinitdisk', disk: { bus: 'virtio' } },
                ],
                interfaces: [{ name: 'default', masquerade: {} }],
            },
            resources: { requests: { memory: '1Gi' } },
        },
        networks: [{ name: 'default', pod: {} }],
        volumes: [
            { name: 'rootdisk', dataVolume: { name: `${name}-root` } },
            { name: 'datadisk', dataVolume: { name: `${name}-data` } },
            { name: 'cloudinitdisk', cloudInitNoCloud: { secretRef: { name: `${name}-cloudinit` } } },
        ],
    };
}

function dvSpec(): Record<string, unknown> {
    return {
        source: { registry: { url: 'docker://quay.io/kubevirt/fedora-with-test-tooling-container-disk:v1.6.0', pullMethod: 'node' } },
        storage: { resources: { requests: { storage: '10Gi' } }, storageClassName: STORAGE_CLASS },
    };
}

function vmObject(name: string): KubeObject {
    return {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name, namespace: NS, labels: { app: 'bench-graph' } },
        spec: {
            runStrategy: 'Always',
            dataVolumeTemplates: [{ metadata: { name: `${name}-root` }, spec: dvSpec() }],
            template: { metadata: { labels: { 'kubevirt.io/domain': name } }, spec: vmiSpec(name) },
        },
    };
}

function dvObject(name: string, owners: Record<string, unknown>[]): KubeObject {
    return {
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataVolume',
        metadata: { name, namespace: NS, ...(owners.length > 0 ? { ownerReferences: owners } : {}) },
        spec: dvSpec(),
    };
}

function pvName(dv: string): string {
    return `bench-graph-${dv}`;
}

function pvcObject(dv: KubeObject): KubeObject {
    const name = dv.metadata?.name ?? '';
    return {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
            name,
            namespace: NS,
            labels: { app: 'containerized-data-importer', 'app.kubernetes.io/managed-by': 'cdi-controller' },
            annotations: {
                'cdi.kubevirt.io/createdForDataVolume': dv.metadata?.uid ?? '',
                'cdi.kubevirt.io/storage.pod.phase': 'Succeeded',
                'pv.kubernetes.io/bind-completed': 'yes',
                'volume.kubernetes.io/storage-provisioner': CSI_DRIVER,
            },
            ownerReferences: [owner(dv)],
        },
        spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: '10Gi' } },
            storageClassName: STORAGE_CLASS,
            volumeMode: 'Filesystem',
            volumeName: pvName(name),
        },
    };
}

function pvObject(dv: string): KubeObject {
    return {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: pvName(dv), annotations: { 'pv.kubernetes.io/provisioned-by': CSI_DRIVER } },
        spec: {
            accessModes: ['ReadWriteOnce'],
            capacity: { storage: '10Gi' },
            claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: NS, name: dv },
            csi: { driver: CSI_DRIVER, volumeHandle: pvName(dv), fsType: 'ext4' },
            persistentVolumeReclaimPolicy: 'Delete',
            storageClassName: STORAGE_CLASS,
            volumeMode: 'Filesystem',
        },
    };
}

function vmiObject(vm: KubeObject): KubeObject {
    const name = vm.metadata?.name ?? '';
    return {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        metadata: {
            name,
            namespace: NS,
            labels: { 'kubevirt.io/domain': name, 'kubevirt.io/nodeName': 'node01' },
            annotations: { 'kubevirt.io/vm-generation': '1' },
            ownerReferences: [owner(vm)],
        },
        spec: vmiSpec(name),
        // No status subresource on the VMI CRD: the status goes in with the object.
        status: {
            phase: 'Running',
            nodeName: 'node01',
            conditions: [
                { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: NOW },
                { type: 'AgentConnected', status: 'True', lastProbeTime: null, lastTransitionTime: NOW },
            ],
        },
    };
}

function podObject(vmi: KubeObject, index: number): KubeObject {
    const name = vmi.metadata?.name ?? '';
    const hook = (what: string): string => JSON.stringify(['/usr/bin/virt-freezer', what, '--name', name, '--namespace', NS]);
    return {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
            name: `virt-launcher-${name}-${index.toString(36).padStart(5, 'x')}`,
            namespace: NS,
            labels: {
                'kubevirt.io': 'virt-launcher',
                'kubevirt.io/created-by': vmi.metadata?.uid ?? '',
                'vm.kubevirt.io/name': name,
                'kubevirt.io/domain': name,
            },
            annotations: {
                'kubevirt.io/domain': name,
                'pre.hook.backup.velero.io/command': hook('--freeze'),
                'pre.hook.backup.velero.io/container': 'compute',
                'pre.hook.backup.velero.io/timeout': '60s',
                'post.hook.backup.velero.io/command': hook('--unfreeze'),
                'post.hook.backup.velero.io/container': 'compute',
            },
            ownerReferences: [owner(vmi)],
        },
        spec: {
            nodeName: 'node01',
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            containers: [{ name: 'compute', image: 'quay.io/kubevirt/virt-launcher:v1.7.1', command: ['/usr/bin/virt-launcher-monitor'] }],
            volumes: [
                { name: 'rootdisk', persistentVolumeClaim: { claimName: `${name}-root` } },
                { name: 'datadisk', persistentVolumeClaim: { claimName: `${name}-data` } },
            ],
        },
    };
}

const VM_STATUS = {
    created: true,
    ready: true,
    printableStatus: 'Running',
    runStrategy: 'Always',
    conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: NOW }],
};
const DV_STATUS = (name: string): unknown => ({
    phase: 'Succeeded',
    progress: '100.0%',
    claimName: name,
    conditions: [{ type: 'Bound', status: 'True', reason: 'Bound', lastHeartbeatTime: NOW, lastTransitionTime: NOW }],
});
const PVC_STATUS = { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '10Gi' } };
const POD_STATUS = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: NOW }] };

async function createObjects(lab: Lab, api: Api, count: number): Promise<number> {
    const conc = 24;
    await lab.apply([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
        {
            apiVersion: 'storage.k8s.io/v1',
            kind: 'StorageClass',
            metadata: { name: STORAGE_CLASS },
            provisioner: CSI_DRIVER,
            reclaimPolicy: 'Delete',
            volumeBindingMode: 'Immediate',
        },
    ]);
    const names = Array.from({ length: count }, (_v, i) => vmName(i));
    let requests = 0;
    const vms = new Map<string, KubeObject>();
    const dvs: KubeObject[] = [];
    // Wave 1: what needs no uid.
    await pool(names, conc, async (name) => {
        await api.create(PATH.secrets, {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: `${name}-cloudinit`, namespace: NS },
            type: 'Opaque',
            data: { userdata: Buffer.from(`#cloud-config\nhostname: ${name}\n`).toString('base64') },
        });
        vms.set(name, await api.create(PATH.vms, vmObject(name)));
        dvs.push(await api.create(PATH.dvs, dvObject(`${name}-data`, [])));
        await api.create(PATH.pvs, pvObject(`${name}-root`));
        await api.create(PATH.pvs, pvObject(`${name}-data`));
        requests += 5;
    });
    // Wave 2: the VM's template DataVolume and its VMI.
    const vmis = new Map<string, KubeObject>();
    await pool(names, conc, async (name) => {
        const vm = vms.get(name) as KubeObject;
        dvs.push(await api.create(PATH.dvs, dvObject(`${name}-root`, [owner(vm)])));
        vmis.set(name, await api.create(PATH.vmis, vmiObject(vm)));
        requests += 2;
    });
    // Wave 3: PVCs of the DataVolumes, launcher pods of the VMIs.
    await pool(dvs, conc, async (dv) => {
        await api.create(PATH.pvcs, pvcObject(dv));
        requests += 1;
    });
    await pool(names, conc, async (name) => {
        await api.create(PATH.pods, podObject(vmis.get(name) as KubeObject, names.indexOf(name)));
        requests += 1;
    });
    // Wave 4: statuses, as the controllers would have written them.
    await pool(names, conc, async (name) => {
        await api.patchStatus(PATH.vms, name, VM_STATUS);
        requests += 1;
    });
    await pool(dvs, conc, async (dv) => {
        const name = dv.metadata?.name ?? '';
        await api.patchStatus(PATH.dvs, name, DV_STATUS(name));
        await api.patchStatus(PATH.pvcs, name, PVC_STATUS);
        await api.patchStatus(PATH.pvs, pvName(name), { phase: 'Bound' });
        requests += 3;
    });
    await pool(names, conc, async (name) => {
        await api.patchStatus(PATH.pods, `virt-launcher-${name}-${names.indexOf(name).toString(36).padStart(5, 'x')}`, POD_STATUS);
        requests += 1;
    });
    return requests;
}

// ---- the action run (child process: one plugin process) -------------------------------------------------

interface ActionReport {
    order: string;
    vms: number;
    items: Record<string, number>;
    calls: number;
    errors: string[];
    changedItems: number;
    additionalItems: number;
    relatedItems: number;
    seconds: number;
    stats: RequestStats;
    rssMiB: number;
    maxRssMiB: number;
}

type Step = () => Promise<void>;

async function runActions(kubeconfig: string, order: string): Promise<ActionReport> {
    // The items as Velero sends them, fetched before the measured phase by a client that is not counted.
    const api = await Api.fromKubeconfig(kubeconfig);
    const items = {
        pods: await api.list(PATH.pods),
        pvcs: await api.list(PATH.pvcs),
        dvs: await api.list(PATH.dvs),
        vmis: await api.list(PATH.vmis),
        vms: await api.list(PATH.vms),
        vmirs: await api.list(PATH.vmirs),
    };
    api.close();

    const backup: Backup = {
        apiVersion: 'velero.io/v1',
        kind: 'Backup',
        metadata: { name: 'bench-graph', namespace: 'velero' },
        spec: { includedNamespaces: [NS], snapshotVolumes: false },
    };
    const log = new Logger('error', () => undefined);
    const cluster = new KubeCluster({ log, loadConfig: defaultConfigLoader(undefined, { kubeconfig }) });
    const deps: ActionDeps = { cluster, log };
    const report: ActionReport = {
        order,
        vms: items.vms.length,
        items: Object.fromEntries(Object.entries(items).map(([k, v]) => [k, v.length])),
        calls: 0,
        errors: [],
        changedItems: 0,
        additionalItems: 0,
        relatedItems: 0,
        seconds: 0,
        stats: { byKey: [], total: { count: 0, bytes: 0 } },
        rssMiB: 0,
        maxRssMiB: 0,
    };
    const guard = async (what: string, item: KubeObject, fn: () => Promise<void>): Promise<void> => {
        report.calls++;
        try {
            await fn();
        } catch (error) {
            if (report.errors.length < 5) report.errors.push(`${what} ${item.kind ?? ''} ${item.metadata?.name ?? ''}: ${errorMessage(error)}`);
            else report.errors.push('');
        }
    };
    const block =
        (item: KubeObject): Step =>
        () =>
            guard('ItemBlockAction', item, async () => {
                report.relatedItems += (await runItemBlockAction(vmItemBlockAction, item, backup, deps)).length;
            });
    const podBlock =
        (item: KubeObject): Step =>
        () =>
            guard('ItemBlockAction', item, async () => {
                report.relatedItems += (await runItemBlockAction(podItemBlockAction, item, backup, deps)).length;
            });
    const act =
        (action: typeof vmBackupAction, item: KubeObject): Step =>
        () =>
            guard(action.name, item, async () => {
                const out = await runBackupAction(action, item, backup, deps);
                if (out.text !== undefined) report.changedItems++;
                report.additionalItems += out.additionalItems.length;
            });
    const steps: Step[] = [];
    const vmSteps = (): void => {
        for (const vm of items.vms) steps.push(block(vm), act(vmBackupAction, vm));
    };
    const vmiSteps = (): void => {
        for (const vmi of items.vmis) steps.push(block(vmi), act(vmiBackupAction, vmi));
    };
    const dvSteps = (): void => {
        for (const dv of items.dvs) steps.push(act(dataVolumeBackupAction, dv));
    };
    const pvcSteps = (): void => {
        for (const pvc of items.pvcs) steps.push(act(dataVolumeBackupAction, pvc), act(pvcBackupAction, pvc));
    };
    if (order === 'brief') {
        vmSteps();
        vmiSteps();
        dvSteps();
        pvcSteps();
    } else {
        // Velero 1.18: core group (pods, whose ItemBlocks open first: block-launcher-pod-action; then PVCs),
        // then cdi.kubevirt.io, then kubevirt.io (discovery lists virtualmachineinstances before virtualmachines).
        for (const pod of items.pods) steps.push(podBlock(pod));
        pvcSteps();
        dvSteps();
        vmiSteps();
        vmSteps();
    }

    resetRequestStats();
    const t0 = process.hrtime.bigint();
    for (const step of steps) await step();
    report.seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    report.stats = requestStats();
    report.rssMiB = process.memoryUsage().rss / 2 ** 20;
    report.maxRssMiB = process.resourceUsage().maxRSS / 1024;
    cluster.close();
    report.errors = report.errors.length > 5 ? [...report.errors.slice(0, 5), `… ${report.errors.length - 5} more`] : report.errors;
    return report;
}

function runChild(kubeconfig: string, order: string, profileDir: string | undefined): Promise<ActionReport> {
    return new Promise((resolve, reject) => {
        const prof = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=actions-${order}.cpuprofile`];
        const child = spawn(process.execPath, [...prof, process.argv[1] ?? '', '--actions', kubeconfig, order], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
        child.on('error', reject);
        child.on('exit', (code) => {
            if (code !== 0) reject(new Error(`action run (${order}) exited with ${String(code)}`));
            else resolve(JSON.parse(out) as ActionReport);
        });
    });
}

// ---- output ----------------------------------------------------------------------------------------------

function print(line = ''): void {
    process.stdout.write(`${line}\n`);
}

function printReport(r: ActionReport): boolean {
    const lists = r.stats.byKey.filter((s) => s.verb === 'list');
    const maxLists = Math.max(0, ...lists.map((s) => s.count));
    const perVm = r.stats.total.count / Math.max(1, r.vms);
    const byVerbResource = new Map<string, number>();
    for (const s of r.stats.byKey) {
        const k = `${s.verb.toUpperCase()} ${s.resource}`;
        byVerbResource.set(k, (byVerbResource.get(k) ?? 0) + s.count);
    }
    print(`== action run, order "${r.order}" (one process, one KubeCluster) ==`);
    print(
        `items: ${Object.entries(r.items)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')}`,
    );
    print(
        `action calls: ${r.calls} (errors: ${r.errors.length}; items changed: ${r.changedItems}; additional items: ${r.additionalItems}; ItemBlock related items: ${r.relatedItems})`,
    );
    for (const e of r.errors) print(`  error: ${e}`);
    print('');
    print(formatRequestStats(r.stats));
    print('');
    print('requests by verb and resource:');
    for (const [k, v] of byVerbResource) print(`  ${k}: ${v}`);
    print(`bytes read: ${r.stats.total.bytes} (${(r.stats.total.bytes / 2 ** 20).toFixed(1)} MiB)`);
    print(`total requests: ${r.stats.total.count}`);
    print(`requests per VM: ${perVm.toFixed(3)}`);
    print(`LISTs per (namespace, resource): ${lists.map((s) => `${s.resource}@${s.namespace || '*'}=${s.count}`).join(', ') || 'none'} (max ${maxLists})`);
    print(`wall time of the action phase: ${r.seconds.toFixed(2)} s`);
    print(`RSS after the action phase: ${r.rssMiB.toFixed(0)} MiB (peak ${r.maxRssMiB.toFixed(0)} MiB)`);
    const checks: [string, boolean][] = [
        [`<= ${TARGET_LISTS} LIST per (namespace, resource)`, maxLists <= TARGET_LISTS],
        [`<= ${TARGET_PER_VM} requests per VM`, perVm <= TARGET_PER_VM],
        [`action run <= ${TARGET_SECONDS} s`, r.seconds <= TARGET_SECONDS],
        ['no action error', r.errors.length === 0],
    ];
    for (const [what, ok] of checks) print(`target ${what}: ${ok ? 'met' : 'MISSED'}`);
    print('');
    return checks.every(([, ok]) => ok);
}

async function veleroRun(lab: Lab): Promise<void> {
    print('== velero server + real plugin binary (dist/kubevirt-velero-plugin) ==');
    const logBefore = (await lab.veleroLog()).length;
    const t0 = Date.now();
    await lab.velero(['backup', 'create', 'bench-graph', '--include-namespaces', NS, '--snapshot-volumes=false', '--wait']);
    const wall = (Date.now() - t0) / 1000;
    const b = (await lab.getJson('backups.velero.io', lab.veleroNamespace, 'bench-graph')) as
        { status?: { phase?: string; startTimestamp?: string; completionTimestamp?: string; progress?: Record<string, number>; errors?: number; warnings?: number } } | undefined;
    const st = b?.status ?? {};
    const duration = st.startTimestamp && st.completionTimestamp ? (Date.parse(st.completionTimestamp) - Date.parse(st.startTimestamp)) / 1000 : NaN;
    print(
        `backup phase: ${st.phase ?? '?'}, items backed up: ${st.progress?.['itemsBackedUp'] ?? '?'}/${st.progress?.['totalItems'] ?? '?'}, errors ${st.errors ?? 0}, warnings ${st.warnings ?? 0}`,
    );
    print(`backup duration (status start → completion): ${duration.toFixed(0)} s; velero CLI wall time: ${wall.toFixed(1)} s`);
    const lines = pluginLogLines((await lab.veleroLog()).slice(logBefore)).filter((l) => l.includes('API request'));
    const counts = new Map<string, number>();
    for (const l of lines) {
        const verb = /verb=(\w+)/.exec(l)?.[1] ?? '?';
        const resource = /resource=([\w.-]+)/.exec(l)?.[1] ?? '?';
        const k = `${verb.toUpperCase()} ${resource}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    print(`plugin API requests in the velero server log (debug "API request" lines): ${lines.length}`);
    for (const [k, v] of [...counts].sort()) print(`  ${k}: ${v}`);
    const hookErrors = (await lab.backupLog('bench-graph')).split('\n').filter((l) => l.includes('Error executing hook')).length;
    print(`"Error executing hook" lines in the backup log (no kubelet in the lab): ${hookErrors}`);
    print('');
}

/**
 * --preflight: `kubevirt-velero-plugin preflight backup` (the shipped executable, a process of its own)
 * over the same namespace. Targets: no more than one LIST per (resource, namespace), no request per VM,
 * and the LISTs the backup actions made are among the preflight's (the same reads, plus what only the
 * preflight needs: Secrets for missing references, StorageClasses and VolumeSnapshotClasses for the
 * snapshot path); done in seconds.
 */
async function preflightRun(lab: Lab, actions: ActionReport, count: number): Promise<boolean> {
    print('== preflight backup (dist/kubevirt-velero-plugin preflight, one process) ==');
    const binary = join(REPO, 'dist', 'kubevirt-velero-plugin');
    const args = ['preflight', 'backup', '--include-namespaces', NS, '--snapshot-volumes=false', '--stats', '-o', 'json', '--kubeconfig', lab.kubeconfig];
    const t0 = Date.now();
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: '' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
    const wall = (Date.now() - t0) / 1000;
    const report = JSON.parse(Buffer.concat(out).toString('utf8')) as { subjects: { included: boolean; refusals: string[] }[]; summary: { text: string } };
    const stats = Buffer.concat(err).toString('utf8');
    print(stats.trimEnd());
    print(`exit code ${code}; ${report.subjects.length} subjects; wall time (exec to exit, incl. 10 access reviews): ${wall.toFixed(2)} s`);
    print(report.summary.text);
    const rows = stats
        .split('\n')
        .filter((l) => /^(GET|LIST) /.test(l))
        .map((l) => l.split(/\s+/));
    const lists = rows.filter((r) => r[0] === 'LIST');
    const gets = rows.filter((r) => r[0] === 'GET').reduce((n, r) => n + Number(r[3] ?? 0), 0);
    const actionLists = actions.stats.byKey.filter((e) => e.verb === 'list').map((e) => `${e.resource} ${e.namespace === '' ? '*' : e.namespace}`);
    const preflightLists = lists.map((r) => `${r[1] ?? ''} ${r[2] ?? ''}`);
    print(`LISTs of the backup actions: ${actionLists.join(', ')}`);
    print(`LISTs of the preflight:      ${preflightLists.join(', ')}`);
    const checks: [string, boolean][] = [
        ['every LIST made once', lists.every((r) => r[3] === '1')],
        [`no request per VM (GETs: ${gets})`, gets < count / 100 + 1],
        ["the backup actions' LISTs are among the preflight's", actionLists.every((l) => preflightLists.includes(l))],
        [`every VM assessed (${report.subjects.length}/${count})`, report.subjects.length === count],
        [`done within ${TARGET_SECONDS * 2} s`, wall <= TARGET_SECONDS * 2],
    ];
    for (const [what, met] of checks) print(`target ${what}: ${met ? 'met' : 'MISSED'}`);
    print('');
    return checks.every(([, met]) => met);
}

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    if (args[0] === '--actions') {
        const report = await runActions(args[1] ?? '', args[2] ?? 'brief');
        process.stdout.write(JSON.stringify(report));
        return;
    }
    const opt = (name: string): string | undefined => {
        const i = args.indexOf(name);
        return i < 0 ? undefined : args[i + 1];
    };
    const count = Number(opt('--vms') ?? '1000');
    const withVelero = args.includes('--velero');
    const logDir = join(REPO, 'build', 'bench', 'logs');
    mkdirSync(logDir, { recursive: true });
    const t0 = Date.now();
    const lab = await startLab({ velero: withVelero, logDir, keep: args.includes('--keep') });
    let ok = true;
    try {
        print(`lab started in ${((Date.now() - t0) / 1000).toFixed(1)} s (${lab.apiServer})`);
        const api = await Api.fromKubeconfig(lab.kubeconfig);
        const t1 = Date.now();
        const requests = await createObjects(lab, api, count);
        api.close();
        const created = (Date.now() - t1) / 1000;
        print(
            `created ${count} running VMs in namespace ${NS} (VM, VMI, launcher pod, Secret, 2 DataVolumes, 2 PVCs, 2 PVs each): ${requests} API requests in ${created.toFixed(1)} s`,
        );
        print('');
        const profileDir = args.includes('--profile') ? join(REPO, 'build', 'bench', 'prof') : undefined;
        let velero: ActionReport | undefined;
        for (const order of ['brief', 'velero']) {
            const report = await runChild(lab.kubeconfig, order, profileDir);
            if (order === 'velero') velero = report;
            ok = printReport(report) && ok;
        }
        if (args.includes('--preflight') && velero) ok = (await preflightRun(lab, velero, count)) && ok;
        if (profileDir !== undefined) print(`CPU profiles of the action runs: ${profileDir}/actions-<order>.cpuprofile`);
        if (withVelero) await veleroRun(lab);
    } finally {
        await lab.stop();
    }
    print(`total bench time: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    process.exitCode = ok ? 0 : 1;
}

main().catch((error: unknown) => {
    process.stderr.write(`bench-graph: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 2;
});
