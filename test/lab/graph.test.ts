/**
 * The VM object graph against the lab's real kube-apiserver: sample objects created through the API
 * (createVmScenario), read back by the plugin's own cluster-access layer (src/cluster/kube.ts, one
 * KubeCluster per "plugin process"), graphs computed on the loaded view, and the request counter
 * (src/cluster/stats.ts) checked: one LIST per (namespace, resource) for a namespace with several VMs,
 * NotFound as a value, and a 403 that names verb, resource and namespace.
 * Namespaces and identities start with "gr-" / "kvp-graph-".
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataVolumeBackupAction } from '../../src/backup-item-actions/datavolume';
import { podItemBlockAction, vmItemBlockAction } from '../../src/item-block-actions/itemblock';
import { pvcBackupAction } from '../../src/backup-item-actions/pvc';
import { vmBackupAction } from '../../src/backup-item-actions/vm';
import { vmiBackupAction } from '../../src/backup-item-actions/vmi';
import { defaultConfigLoader } from '../../src/cluster/config';
import { KubeCluster } from '../../src/cluster/kube';
import { requestStats, resetRequestStats, type RequestStat } from '../../src/cluster/stats';
import { loadView } from '../../src/cluster/view';
import { PluginError } from '../../src/errors';
import {
    dataVolumeBackupGraph,
    GRAPH_NEEDS,
    itemBlockGraph,
    pvcBackupGraph,
    vmBackupGraph,
    vmiBackupGraph,
    vmirsBackupGraph,
    vmRestoreGraph,
    type ClusterView,
} from '../../src/graph/index';
import { runBackupAction, runItemBlockAction } from '../../src/plugin/adapter';
import type { ActionDeps } from '../../src/plugin/contract';
import type { KubeObject } from '../../src/kube/object';
import { R, refKey, type GroupResource, type ObjectRef } from '../../src/kube/resources';
import type { Backup } from '../../src/kube/velero';
import { Logger } from '../../src/logging/logger';
import { connectLab, type Lab } from './lab';
import { createVmScenario } from './simulate';

const NS = 'gr-vms';
const LIMITED_USER = 'kvp-graph-limited';
/** A namespace backup as `velero backup create --include-namespaces gr-vms` sends it. */
const BACKUP: Backup = {
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: { name: 'gr-backup', namespace: 'velero' },
    spec: { includedNamespaces: [NS] },
};

/** Plugin log lines go nowhere (they would only clutter the jest output); warnings are kept to read. */
const logLines: string[] = [];
const log = new Logger('warn', (line) => logLines.push(line));

let lab: Lab;
let scratch: string;

function clusterFor(kubeconfig: string): KubeCluster {
    return new KubeCluster({ log, loadConfig: defaultConfigLoader(undefined, { kubeconfig }) });
}

function keys(refs: readonly ObjectRef[]): string[] {
    return refs.map(refKey);
}

/** The counters without the byte counts (they vary with object sizes), in the counter's order. */
function counts(stats: readonly RequestStat[]): string[] {
    return stats.map((s) => {
        const statuses = Object.entries(s.statuses)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([code, n]) => `${code}x${n}`)
            .join(',');
        return `${s.verb.toUpperCase()} ${s.resource} ${s.namespace || '*'} ${s.count} ${statuses}`;
    });
}

beforeAll(async () => {
    lab = connectLab();
    scratch = mkdtempSync(join(tmpdir(), 'kvp-graph-test-'));
    // Several VMs in one namespace: two running VMs with a PVC volume owned by a DataVolume, a migrating
    // VM with TPM/EFI state, a VMIRS with two VMIs, and a VM whose DataVolume is still importing.
    await createVmScenario(lab, NS, '02-vm-with-pvc.yaml');
    await createVmScenario(lab, NS, '02-vm-with-pvc.yaml', {
        renames: { 'test-vm-with-pvc': 'gr-vm-b', 'test-pvc': 'gr-pvc-b', 'virt-launcher-test-vm-with-pvc-k2x9p': 'virt-launcher-gr-vm-b-x7k2q' },
    });
    // createVmScenario moves exact namespace strings only; the Multus `ns/name` reference is moved here.
    await createVmScenario(lab, NS, '09-vm-with-tpm-migrating.yaml', { renames: { 'kvp-tpm/test-bridge-net': `${NS}/test-bridge-net` } });
    await createVmScenario(lab, NS, '08-vmirs.yaml');
    await createVmScenario(lab, NS, '10-vm-importing.yaml', { renames: { 'test-dv': 'gr-importing-dv' } });
}, 180_000);

afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
});

describe('graph of objects created through the API, read through KubeCluster', () => {
    let cluster: KubeCluster;
    let view: ClusterView;
    beforeAll(async () => {
        cluster = clusterFor(lab.kubeconfig);
        view = await loadView(cluster, NS, GRAPH_NEEDS);
    });
    afterAll(() => cluster.close());

    type GraphFn = (obj: KubeObject, view: ClusterView) => ObjectRef[];
    const vm = R.vms;
    const vmi = R.vmis;
    const cases: [string, GraphFn, GroupResource, string, string[]][] = [
        [
            'Running VM includes its VMI, launcher pod, PVC volume and the DataVolume owning that PVC',
            vmBackupGraph,
            vm,
            'test-vm-with-pvc',
            [
                `virtualmachineinstances.kubevirt.io/${NS}/test-vm-with-pvc`,
                `pods/${NS}/virt-launcher-test-vm-with-pvc-k2x9p`,
                `persistentvolumeclaims/${NS}/test-pvc`,
                `datavolumes.cdi.kubevirt.io/${NS}/test-pvc`,
            ],
        ],
        [
            'Second running VM of the namespace gets only its own launcher pod and storage',
            vmBackupGraph,
            vm,
            'gr-vm-b',
            [
                `virtualmachineinstances.kubevirt.io/${NS}/gr-vm-b`,
                `pods/${NS}/virt-launcher-gr-vm-b-x7k2q`,
                `persistentvolumeclaims/${NS}/gr-pvc-b`,
                `datavolumes.cdi.kubevirt.io/${NS}/gr-pvc-b`,
            ],
        ],
        [
            'Migrating VM includes both active launcher pods (not the Succeeded one), TPM state PVC, secrets and NAD',
            vmBackupGraph,
            vm,
            'test-vm-with-tpm',
            [
                `virtualmachineinstances.kubevirt.io/${NS}/test-vm-with-tpm`,
                `pods/${NS}/virt-launcher-test-vm-with-tpm-q2zdw`,
                `pods/${NS}/virt-launcher-test-vm-with-tpm-vb7xm`,
                `datavolumes.cdi.kubevirt.io/${NS}/test-dv`,
                `persistentvolumeclaims/${NS}/test-dv`,
                `secrets/${NS}/test-userdata`,
                `persistentvolumeclaims/${NS}/persistent-state-for-test-vm-with-tpm-h6jq9`,
                `secrets/${NS}/test-ssh-key`,
                `secrets/${NS}/test-access-credentials-secret`,
                `network-attachment-definitions.k8s.cni.cncf.io/${NS}/test-bridge-net`,
            ],
        ],
        [
            'VM not created (DataVolume importing) has no VMI and no launcher pod',
            vmBackupGraph,
            vm,
            'test-vm-importing',
            [`datavolumes.cdi.kubevirt.io/${NS}/gr-importing-dv`, `persistentvolumeclaims/${NS}/gr-importing-dv`],
        ],
        [
            'Migrating VMI includes both active launcher pods and everything its spec refers to',
            vmiBackupGraph,
            vmi,
            'test-vm-with-tpm',
            [
                `pods/${NS}/virt-launcher-test-vm-with-tpm-q2zdw`,
                `pods/${NS}/virt-launcher-test-vm-with-tpm-vb7xm`,
                `datavolumes.cdi.kubevirt.io/${NS}/test-dv`,
                `persistentvolumeclaims/${NS}/test-dv`,
                `secrets/${NS}/test-userdata`,
                `persistentvolumeclaims/${NS}/persistent-state-for-test-vm-with-tpm-h6jq9`,
                `secrets/${NS}/test-ssh-key`,
                `secrets/${NS}/test-access-credentials-secret`,
                `network-attachment-definitions.k8s.cni.cncf.io/${NS}/test-bridge-net`,
            ],
        ],
        [
            'VMIRS includes its VMIs (label kubevirt.io/vmReplicaSet) with their launcher pods, and its template config map',
            vmirsBackupGraph,
            R.vmirs,
            'test-vmirs',
            [
                `virtualmachineinstances.kubevirt.io/${NS}/test-vmirsbq8kz`,
                `pods/${NS}/virt-launcher-test-vmirsbq8kz-c5n7d`,
                `configmaps/${NS}/test-configmap`,
                `virtualmachineinstances.kubevirt.io/${NS}/test-vmirsm2w4x`,
                `pods/${NS}/virt-launcher-test-vmirsm2w4x-j9f3h`,
            ],
        ],
        [
            'ItemBlock of the migrating VM holds its VMI, both launcher pods and its storage, TPM state PVC included',
            itemBlockGraph,
            vm,
            'test-vm-with-tpm',
            [
                `virtualmachineinstances.kubevirt.io/${NS}/test-vm-with-tpm`,
                `pods/${NS}/virt-launcher-test-vm-with-tpm-q2zdw`,
                `pods/${NS}/virt-launcher-test-vm-with-tpm-vb7xm`,
                `datavolumes.cdi.kubevirt.io/${NS}/test-dv`,
                `persistentvolumeclaims/${NS}/test-dv`,
                `persistentvolumeclaims/${NS}/persistent-state-for-test-vm-with-tpm-h6jq9`,
            ],
        ],
        [
            'ItemBlock of the VM with a PVC volume holds the owning DataVolume too',
            itemBlockGraph,
            vm,
            'test-vm-with-pvc',
            [
                `virtualmachineinstances.kubevirt.io/${NS}/test-vm-with-pvc`,
                `pods/${NS}/virt-launcher-test-vm-with-pvc-k2x9p`,
                `persistentvolumeclaims/${NS}/test-pvc`,
                `datavolumes.cdi.kubevirt.io/${NS}/test-pvc`,
            ],
        ],
        [
            'ItemBlock of the VMIRS holds each VMI with its launcher pod, and no config map',
            itemBlockGraph,
            R.vmirs,
            'test-vmirs',
            [
                `virtualmachineinstances.kubevirt.io/${NS}/test-vmirsbq8kz`,
                `pods/${NS}/virt-launcher-test-vmirsbq8kz-c5n7d`,
                `virtualmachineinstances.kubevirt.io/${NS}/test-vmirsm2w4x`,
                `pods/${NS}/virt-launcher-test-vmirsm2w4x-j9f3h`,
            ],
        ],
        [
            'Restore graph of the migrating VM: storage, TPM state PVC found by label, secrets, NAD; never VMI or pods',
            vmRestoreGraph,
            vm,
            'test-vm-with-tpm',
            [
                `datavolumes.cdi.kubevirt.io/${NS}/test-dv`,
                `persistentvolumeclaims/${NS}/test-dv`,
                `secrets/${NS}/test-userdata`,
                `persistentvolumeclaims/${NS}/persistent-state-for-test-vm-with-tpm-h6jq9`,
                `secrets/${NS}/test-ssh-key`,
                `secrets/${NS}/test-access-credentials-secret`,
                `network-attachment-definitions.k8s.cni.cncf.io/${NS}/test-bridge-net`,
            ],
        ],
        [
            'Restore graph of the VM with a PVC volume names the DataVolume owning the PVC',
            vmRestoreGraph,
            vm,
            'test-vm-with-pvc',
            [`persistentvolumeclaims/${NS}/test-pvc`, `datavolumes.cdi.kubevirt.io/${NS}/test-pvc`],
        ],
        ['Succeeded DataVolume includes its PVC', (o) => dataVolumeBackupGraph(o), R.dataVolumes, 'test-dv', [`persistentvolumeclaims/${NS}/test-dv`]],
        ['DataVolume still importing includes no PVC', (o) => dataVolumeBackupGraph(o), R.dataVolumes, 'gr-importing-dv', []],
        ['PVC owned by a DataVolume includes that DataVolume', (o) => pvcBackupGraph(o), R.pvcs, 'test-pvc', [`datavolumes.cdi.kubevirt.io/${NS}/test-pvc`]],
        ['TPM state PVC (owned by the VM) includes no DataVolume', (o) => pvcBackupGraph(o), R.pvcs, 'persistent-state-for-test-vm-with-tpm-h6jq9', []],
    ];

    it.each(cases)('%s', async (_title, graph, resource, name, expected) => {
        const obj = await cluster.get(resource, NS, name);
        expect(obj?.metadata?.name).toBe(name);
        expect(keys(graph(obj as KubeObject, view))).toEqual(expected);
    });
});

describe('request counts of a namespace backup through the actions', () => {
    it('every action for every item of a namespace with several VMs costs one LIST per (namespace, resource) and nothing else', async () => {
        const cluster = clusterFor(lab.kubeconfig);
        try {
            const items = {
                vms: await lab.list('virtualmachines.kubevirt.io', NS),
                vmis: await lab.list('virtualmachineinstances.kubevirt.io', NS),
                vmirs: await lab.list('virtualmachineinstancereplicasets.kubevirt.io', NS),
                dvs: await lab.list('datavolumes.cdi.kubevirt.io', NS),
                pvcs: await lab.list('persistentvolumeclaims', NS),
                pods: await lab.list('pods', NS),
            };
            expect([items.vms.length, items.vmis.length, items.vmirs.length, items.dvs.length, items.pvcs.length]).toEqual([4, 5, 1, 4, 5]);
            expect(items.pods.length).toBeGreaterThan(0);
            const deps: ActionDeps = { cluster, log };
            resetRequestStats();
            // Velero's order: pods (and their ItemBlocks) first, then PVCs, then the other API groups.
            for (const item of items.pods) await runItemBlockAction(podItemBlockAction, item, BACKUP, deps);
            for (const item of items.vms) {
                await runItemBlockAction(vmItemBlockAction, item, BACKUP, deps);
                await runBackupAction(vmBackupAction, item, BACKUP, deps);
            }
            for (const item of items.vmirs) await runItemBlockAction(vmItemBlockAction, item, BACKUP, deps);
            for (const item of items.vmis) {
                await runItemBlockAction(vmItemBlockAction, item, BACKUP, deps);
                await runBackupAction(vmiBackupAction, item, BACKUP, deps);
            }
            for (const item of [...items.dvs, ...items.pvcs]) await runBackupAction(dataVolumeBackupAction, item, BACKUP, deps);
            for (const item of items.pvcs) await runBackupAction(pvcBackupAction, item, BACKUP, deps);
            const stats = requestStats();
            expect(counts(stats.byKey)).toEqual([
                `LIST datavolumes.cdi.kubevirt.io ${NS} 1 200x1`,
                `LIST persistentvolumeclaims ${NS} 1 200x1`,
                `LIST pods ${NS} 1 200x1`,
                `LIST virtualmachineinstances.kubevirt.io ${NS} 1 200x1`,
                `LIST virtualmachines.kubevirt.io ${NS} 1 200x1`,
            ]);
            expect(stats.byKey.filter((s) => s.verb === 'list' && s.count > 1)).toEqual([]);
            expect(stats.total.count).toBe(5);
            expect(stats.total.bytes).toBeGreaterThan(0);
        } finally {
            cluster.close();
        }
    });

    it.each([
        ['a GET', [`GET datavolumes.cdi.kubevirt.io ${NS} 1 404x1`], async (c: KubeCluster): Promise<unknown> => c.get(R.dataVolumes, NS, 'gr-missing-dv')],
        [
            'the DataVolume action on a PVC whose owning DataVolume is gone (the list, then one GET for the missing name)',
            [`GET datavolumes.cdi.kubevirt.io ${NS} 1 404x1`, `LIST datavolumes.cdi.kubevirt.io ${NS} 1 200x1`],
            async (c: KubeCluster): Promise<unknown> => {
                const pvc = (await lab.getJson('persistentvolumeclaims', NS, 'test-pvc')) as KubeObject;
                const owners = (pvc.metadata?.ownerReferences ?? []).map((o) => ({ ...o, name: 'gr-missing-dv' }));
                const out = await runBackupAction(dataVolumeBackupAction, { ...pvc, metadata: { ...pvc.metadata, ownerReferences: owners } }, BACKUP, { cluster: c, log });
                return out.text === undefined && out.additionalItems.length === 0 ? undefined : out;
            },
        ],
    ])('NotFound of a missing DataVolume is a value through %s, asked once and cached', async (_how, expected, read) => {
        const cluster = clusterFor(lab.kubeconfig);
        try {
            resetRequestStats();
            expect(await read(cluster)).toBeUndefined();
            expect(await read(cluster)).toBeUndefined();
            expect(counts(requestStats().byKey)).toEqual(expected);
        } finally {
            cluster.close();
        }
    });
});

describe('an identity without access to pods', () => {
    let cluster: KubeCluster;
    beforeAll(async () => {
        const role = join(scratch, 'graph-limited.clusterrole.yaml');
        writeFileSync(
            role,
            [
                'apiVersion: rbac.authorization.k8s.io/v1',
                'kind: ClusterRole',
                'metadata:',
                `  name: ${LIMITED_USER}`,
                'rules:',
                "- apiGroups: ['']",
                '  resources: [persistentvolumeclaims]',
                '  verbs: [get, list]',
                '- apiGroups: [kubevirt.io]',
                '  resources: [virtualmachines, virtualmachineinstances, virtualmachineinstancereplicasets]',
                '  verbs: [get, list]',
                '- apiGroups: [cdi.kubevirt.io]',
                '  resources: [datavolumes]',
                '  verbs: [get, list]',
                '',
            ].join('\n'),
        );
        cluster = clusterFor(await lab.kubeconfigFor(`user:${LIMITED_USER}`, role));
    });
    afterAll(() => cluster.close());

    const forbidden = (verb: string, what: string, resource: string): string =>
        `forbidden: cannot ${verb} ${what} in namespace "${NS}" (HTTP 403): ${what} is forbidden: User "${LIMITED_USER}" cannot ${verb} resource "${resource}" in API group "" in the namespace "${NS}"; grant the plugin's identity "${verb}" on ${resource} (see manifests/rbac)`;

    it.each([
        [
            'the VM backup action (LIST of launcher pods)',
            async (): Promise<unknown> => {
                const item = (await lab.getJson('virtualmachines.kubevirt.io', NS, 'test-vm-with-pvc')) as KubeObject;
                return runBackupAction(vmBackupAction, item, BACKUP, { cluster, log });
            },
            forbidden('list', 'pods', 'pods'),
            `LIST pods ${NS} 1 403x1`,
        ],
        [
            'a GET of a secret',
            (): Promise<unknown> => cluster.get(R.secrets, NS, 'test-ssh-key'),
            forbidden('get', 'secrets "test-ssh-key"', 'secrets'),
            `GET secrets ${NS} 1 403x1`,
        ],
    ])('403 through %s names verb, resource and namespace, and is not asked again within the cool-down', async (_how, call, detail, stat) => {
        resetRequestStats();
        for (let attempt = 0; attempt < 2; attempt++) {
            const error: unknown = await call().then(
                () => undefined,
                (e: unknown) => e,
            );
            expect(error).toBeInstanceOf(PluginError);
            // The second call is answered from the failure cached for the cool-down, and says so.
            const expected = attempt === 0 ? detail : expect.stringMatching(/; not asked again before the 1000 ms cool-down ends\)$/);
            expect({ reason: (error as PluginError).reason, detail: (error as PluginError).detail }).toEqual({ reason: 'Forbidden', detail: expected });
            expect((error as PluginError).detail.startsWith(detail)).toBe(true);
        }
        expect(counts(requestStats().byKey).filter((s) => s.includes(' 403x'))).toEqual([stat]);
    });
});
