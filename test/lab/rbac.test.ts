/**
 * manifests/rbac/kubevirt-velero-plugin.yaml is exactly what the plugin needs: with an identity bound to
 * it (Velero's service account velero/velero, as the manifest binds it) every action that reads the
 * cluster succeeds against the real API server; with one rule removed, the action that needs it fails
 * with an error naming the missing permission.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { startPlugin, type PluginProcess } from '../support/plugin-process';
import { connectLab, DEFAULT_PLUGIN_BINARY, type Lab } from './lab';
import { createVmScenario, find } from './simulate';
import type { KubeObject } from '../../src/kube/object';

const REPO = join(__dirname, '..', '..');
const MANIFEST = join(REPO, 'manifests', 'rbac', 'kubevirt-velero-plugin.yaml');
const NS = 'rbac-kvp';
const IDENTITY = 'velero/velero';

let lab: Lab;
let objects: KubeObject[];

function manifestObjects(): Record<string, unknown>[] {
    return parseAllDocuments(readFileSync(MANIFEST, 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
}

/** The manifest with some rules removed, written to a file; the same object names, so applying it replaces the grant. */
function withoutRule(drop: { kind: string; resource: string }): string {
    const docs = manifestObjects().map((doc) => {
        if (doc['kind'] !== drop.kind) return doc;
        const rules = (doc['rules'] as { resources: string[] }[]).map((r) => ({ ...r, resources: r.resources.filter((x) => x !== drop.resource) }));
        return { ...doc, rules: rules.filter((r) => r.resources.length > 0) };
    });
    const path = join(lab.workDir, `rbac-without-${drop.resource}.yaml`);
    writeFileSync(path, docs.map((d) => stringify(d)).join('---\n'));
    return path;
}

const item = (o: KubeObject): Buffer => Buffer.from(JSON.stringify(o));
const BACKUP = Buffer.from(JSON.stringify({ metadata: { name: 'b-rbac', namespace: 'velero' }, spec: { includedNamespaces: [NS] } }));

function restoreWithKnobs(): Buffer {
    return Buffer.from(
        JSON.stringify({ metadata: { name: 'r-rbac', namespace: 'velero', labels: { 'velero.kubevirt.io/identity-policy': 'auto' } }, spec: { backupName: 'b-rbac' } }),
    );
}

interface ActionCall {
    name: string;
    service: string;
    plugin: string;
    request: () => Record<string, unknown>;
}

// Requests are built when a test runs (the objects exist only after beforeAll).
const vm = (): KubeObject => find(objects, 'VirtualMachine', 'test-vm-with-pvc');
const vmi = (): KubeObject => find(objects, 'VirtualMachineInstance', 'test-vm-with-pvc');
const pvc = (): KubeObject => find(objects, 'PersistentVolumeClaim', 'test-pvc');
const dv = (): KubeObject => find(objects, 'DataVolume', 'test-pvc');

/** The VM with a MAC address, so identity-policy=auto has a value to compare across the cluster. */
function vmWithMac(): KubeObject {
    const copy = JSON.parse(JSON.stringify(vm())) as { spec: { template: { spec: { domain: { devices: { interfaces?: Record<string, unknown>[] } } } } } };
    const devices = copy.spec.template.spec.domain.devices;
    devices.interfaces = (devices.interfaces ?? [{ name: 'default', masquerade: {} }]).map((i) => ({ ...i, macAddress: '02:00:00:aa:bb:cc' }));
    return copy;
}

const POOL_UID = '0f0f0000-0000-4000-8000-000000000001';
const pool = (): KubeObject => ({
    apiVersion: 'pool.kubevirt.io/v1beta1',
    kind: 'VirtualMachinePool',
    metadata: { name: 'rbac-pool', namespace: NS, uid: POOL_UID },
    spec: { replicas: 1, selector: { matchLabels: { pool: 'rbac-pool' } }, virtualMachineTemplate: { spec: { template: { spec: {} } } } },
});
/** A VM the pool controlled at backup: its restore reads the pool in the target namespace. */
const poolVm = (): KubeObject => ({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: {
        name: 'rbac-pool-0',
        namespace: NS,
        ownerReferences: [{ apiVersion: 'pool.kubevirt.io/v1beta1', kind: 'VirtualMachinePool', name: 'rbac-pool', uid: POOL_UID, controller: true }],
    },
    spec: { template: { spec: { domain: { devices: {} } } } },
});
const template = (): KubeObject => ({
    apiVersion: 'template.kubevirt.io/v1beta1',
    kind: 'VirtualMachineTemplate',
    metadata: { name: 'rbac-template', namespace: NS },
    spec: { virtualMachine: { spec: { dataVolumeTemplates: [{ metadata: { name: 'd' }, spec: { source: { pvc: { name: 'test-pvc' } } } }] } } },
});
const PLAIN_RESTORE = Buffer.from(JSON.stringify({ metadata: { name: 'r-rbac-plain', namespace: 'velero' }, spec: { backupName: 'b-rbac' } }));

function calls(): ActionCall[] {
    return [
        {
            name: 'VM backup (lists pods, PVCs, VMIs, DataVolumes)',
            service: 'v2.BackupItemAction',
            plugin: 'backup-virtualmachine-action',
            request: () => ({ item: item(vm()), backup: BACKUP }),
        },
        {
            name: 'VMI backup (gets its VM)',
            service: 'v2.BackupItemAction',
            plugin: 'backup-virtualmachineinstance-action',
            request: () => ({ item: item(vmi()), backup: BACKUP }),
        },
        { name: 'PVC backup (gets its DataVolume)', service: 'v2.BackupItemAction', plugin: 'backup-datavolume-action', request: () => ({ item: item(pvc()), backup: BACKUP }) },
        { name: 'VM ItemBlock', service: 'v1.ItemBlockAction', plugin: 'block-vm-action', request: () => ({ item: item(vm()), backup: BACKUP }) },
        {
            name: 'VM restore with identity-policy=auto (lists VMs and VMIs of all namespaces)',
            service: 'v2.RestoreItemAction',
            plugin: 'restore-vm-action',
            request: () => ({ item: item(vmWithMac()), itemFromBackup: item(vmWithMac()), restore: restoreWithKnobs() }),
        },
        {
            name: 'DataVolume restore naming a storage class (lists ConfigMaps of the Velero namespace)',
            service: 'v2.RestoreItemAction',
            plugin: 'restore-datavolume-action',
            request: () => ({ item: item(dv()), itemFromBackup: item(dv()), restore: restoreWithKnobs() }),
        },
        {
            name: 'VirtualMachinePool backup (lists VMs and PVCs)',
            service: 'v2.BackupItemAction',
            plugin: 'backup-virtualmachinepool-action',
            request: () => ({ item: item(pool()), backup: BACKUP }),
        },
        {
            name: 'VirtualMachineTemplate backup (lists PVCs and DataVolumes)',
            service: 'v2.BackupItemAction',
            plugin: 'backup-virtualmachinetemplate-action',
            request: () => ({ item: item(template()), backup: BACKUP }),
        },
        {
            name: "restore of a pool's VM (gets the pool)",
            service: 'v2.RestoreItemAction',
            plugin: 'restore-vm-action',
            request: () => ({ item: item(poolVm()), itemFromBackup: item(poolVm()), restore: PLAIN_RESTORE }),
        },
    ];
}

async function run(kubeconfig: string, call: ActionCall): Promise<Record<string, unknown>> {
    const plugin: PluginProcess = await startPlugin(DEFAULT_PLUGIN_BINARY, { KUBECONFIG: kubeconfig });
    try {
        const method = call.service === 'v1.ItemBlockAction' ? 'GetRelatedItems' : 'Execute';
        return await plugin.call(call.service, method, { plugin: `kubevirt-velero-plugin/${call.plugin}`, ...call.request() });
    } finally {
        await plugin.shutdown();
    }
}

beforeAll(async () => {
    lab = connectLab();
    objects = await createVmScenario(lab, NS, '02-vm-with-pvc.yaml');
    // A change-storage-class ConfigMap, so the VM restore really reads ConfigMaps of the Velero namespace.
    await lab.apply([
        {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
                name: 'rbac-change-storage-class',
                namespace: lab.veleroNamespace,
                labels: { 'velero.io/plugin-config': '', 'velero.io/change-storage-class': 'RestoreItemAction' },
            },
            data: { 'no-such-class': 'other' },
        },
    ]);
}, 120000);

afterAll(async () => {
    await lab.kubectl(['delete', 'configmap', 'rbac-change-storage-class', '-n', lab.veleroNamespace, '--ignore-not-found']);
    await lab.kubectl(['apply', '-f', MANIFEST]);
});

describe('the RBAC manifest', () => {
    it('grants exactly get and list, on exactly the resources the code reads', () => {
        const rules = manifestObjects().flatMap((d) => (d['rules'] as { apiGroups: string[]; resources: string[]; verbs: string[] }[] | undefined) ?? []);
        expect(rules.flatMap((r) => r.verbs).every((v) => v === 'get' || v === 'list')).toBe(true);
        expect(rules.flatMap((r) => r.resources).sort()).toEqual(
            ['configmaps', 'datavolumes', 'persistentvolumeclaims', 'pods', 'virtualmachineinstances', 'virtualmachinepools', 'virtualmachines'].sort(),
        );
    });

    it.each(calls().map((c) => [c.name, c] as const))(
        'with exactly these rules: %s succeeds',
        async (_name, call) => {
            const kubeconfig = await lab.kubeconfigFor(IDENTITY, MANIFEST);
            const response = await run(kubeconfig, call);
            expect(response).toBeDefined();
        },
        60000,
    );

    it.each([
        ['ClusterRole', 'pods', 'backup-virtualmachine-action', 'forbidden: cannot list pods in namespace "rbac-kvp"'],
        ['ClusterRole', 'virtualmachines', 'backup-virtualmachineinstance-action', 'forbidden: cannot list virtualmachines.kubevirt.io in namespace "rbac-kvp"'],
        ['ClusterRole', 'datavolumes', 'backup-datavolume-action', 'forbidden: cannot list datavolumes.cdi.kubevirt.io in namespace "rbac-kvp"'],
        ['ClusterRole', 'virtualmachineinstances', 'restore-vm-action', 'forbidden: cannot list virtualmachineinstances.kubevirt.io in all namespaces'],
        ['Role', 'configmaps', 'restore-datavolume-action', 'forbidden: cannot list configmaps in namespace "velero"'],
        ['ClusterRole', 'virtualmachinepools', "restore of a pool's VM (gets the pool)", 'forbidden: cannot get virtualmachinepools.pool.kubevirt.io'],
    ])(
        'without the %s rule for %s, %s fails naming the missing permission',
        async (kind, resource, plugin, message) => {
            const call = (calls().find((c) => c.name === plugin) ?? calls().find((c) => c.plugin === plugin)) as ActionCall;
            const kubeconfig = await lab.kubeconfigFor(IDENTITY, withoutRule({ kind, resource }));
            // The RBAC authorizer follows changes through an informer: give it a moment.
            await lab.waitFor(
                async () =>
                    (
                        await lab.kubectlRaw(['auth', 'can-i', 'list', resource, '-n', resource === 'configmaps' ? 'velero' : NS, '--as=system:serviceaccount:velero:velero'])
                    ).stdout.trim() === 'no',
                10000,
                `RBAC without ${resource}`,
            );
            try {
                await expect(run(kubeconfig, call)).rejects.toMatchObject({ details: expect.stringContaining(message) });
            } finally {
                await lab.kubectl(['apply', '-f', MANIFEST]);
            }
        },
        60000,
    );
});
