import { podItemBlockAction, vmItemBlockAction } from '../../../src/item-block-actions/itemblock';
import { runItemBlockAction, selectorOf } from '../../../src/plugin/adapter';
import type { ClusterReader } from '../../../src/cluster/reader';
import { StaticCluster } from '../../support/static-cluster';
import type { KubeObject } from '../../../src/kube/object';
import type { ObjectRef } from '../../../src/kube/resources';
import { captureLog, find, forbiddenCluster, makeBackup, setPath, wire, world } from '../backup-item-actions/helpers';

const NS = 'kvp-ns';
const vmi = (name: string): ObjectRef => ({ group: 'kubevirt.io', resource: 'virtualmachineinstances', namespace: NS, name });
const pod = (name: string): ObjectRef => ({ group: '', resource: 'pods', namespace: NS, name });
const dv = (name: string): ObjectRef => ({ group: 'cdi.kubevirt.io', resource: 'datavolumes', namespace: NS, name });
const pvc = (name: string): ObjectRef => ({ group: '', resource: 'persistentvolumeclaims', namespace: NS, name });

async function related(item: KubeObject, cluster: ClusterReader): Promise<{ items: ObjectRef[]; warn: string[] }> {
    const log = captureLog();
    const items = wire(await runItemBlockAction(vmItemBlockAction, item, makeBackup(), { cluster, log: log.log }));
    return { items, warn: log.at('warn') };
}

describe('VM ItemBlockAction (upstream TestVMItemBlockAction_*)', () => {
    it('AppliesTo includes virtualmachines.kubevirt.io, standalone VMIs and VMIRS', () => {
        expect(vmItemBlockAction.name).toBe('kubevirt-velero-plugin/block-vm-action');
        expect(vmItemBlockAction.appliesTo.includedResources).toEqual([
            'virtualmachines.kubevirt.io',
            'virtualmachineinstances.kubevirt.io',
            'virtualmachineinstancereplicasets.kubevirt.io',
        ]);
    });

    test.each<[string, string[], string, string, ObjectRef[]]>([
        [
            'Valid VirtualMachine: VMI, launcher pod, DataVolumes and PVCs',
            ['vm-running.yaml', 'storage.yaml'],
            'VirtualMachine',
            'test-vm',
            [vmi('test-vm'), pod('virt-launcher-test-vm-x7k2p'), dv('test-dv-template'), pvc('test-dv-template'), dv('test-dv'), pvc('test-dv'), pvc('test-pvc')],
        ],
        [
            'Migrating VirtualMachine: both active launcher pods',
            ['vm-running.yaml', 'storage.yaml', 'launcher-pods-migration.yaml'],
            'VirtualMachine',
            'test-vm',
            [
                vmi('test-vm'),
                pod('virt-launcher-test-vm-m9r3t'),
                pod('virt-launcher-test-vm-x7k2p'),
                dv('test-dv-template'),
                pvc('test-dv-template'),
                dv('test-dv'),
                pvc('test-dv'),
                pvc('test-pvc'),
            ],
        ],
        [
            'standalone VMI: launcher pod and storage',
            ['vmi-standalone.yaml', 'storage.yaml'],
            'VirtualMachineInstance',
            'test-vmi',
            [pod('virt-launcher-test-vmi-h5d2s'), dv('test-dv'), pvc('test-dv'), pvc('test-pvc')],
        ],
        ['VMI owned by a VM: nothing, the VM block holds it', ['vm-running.yaml', 'storage.yaml'], 'VirtualMachineInstance', 'test-vm', []],
        [
            'VMIRS: its VMIs and their launcher pods',
            ['vmi-replicaset.yaml'],
            'VirtualMachineInstanceReplicaSet',
            'test-rs',
            [vmi('test-rs-4kq7x'), pod('virt-launcher-test-rs-4kq7x-v6b8n')],
        ],
        ['VMI owned by a VMIRS: its own block', ['vmi-replicaset.yaml'], 'VirtualMachineInstance', 'test-rs-4kq7x', [pod('virt-launcher-test-rs-4kq7x-v6b8n')]],
    ])('%s', async (_name, files, kind, name, expected) => {
        const objects = world(...files);
        const { items, warn } = await related(find(objects, kind, name), new StaticCluster(objects));
        expect(items).toEqual(expected);
        expect(warn).toEqual([]);
    });

    test.each<[string, KubeObject]>([
        ['another kind', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: NS } }],
        ['a VM without a name', { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { namespace: NS }, spec: {} }],
        ['a VM with spec null', { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'x', namespace: NS }, spec: null }],
    ])('%s has no related items and does not fail', async (_name, item) => {
        expect((await related(item, new StaticCluster([]))).items).toEqual([]);
    });

    it('a graph failure degrades to no related items with a warning', async () => {
        const objects = world('vm-running.yaml', 'storage.yaml');
        const inner = new StaticCluster(objects);
        const broken = {};
        Object.defineProperty(broken, 'metadata', {
            get() {
                throw new Error('boom');
            },
        });
        // The reader hands the graph a pod whose metadata cannot be read.
        const cluster: ClusterReader = {
            get: (r, ns, name) => inner.get(r, ns, name),
            list: async (r, ns) => (r.resource === 'pods' ? [broken] : inner.list(r, ns)),
        };
        const { items, warn } = await related(find(objects, 'VirtualMachine', 'test-vm'), cluster);
        expect(items).toEqual([]);
        expect(warn).toEqual(['Failed to compute the ItemBlock of VirtualMachine kvp-ns/test-vm: boom; no related items']);
    });

    it('a cluster error propagates', async () => {
        const vm = find(world('vm-running.yaml'), 'VirtualMachine', 'test-vm');
        await expect(related(vm, forbiddenCluster)).rejects.toMatchObject({ reason: 'Forbidden' });
    });

    it('a stopped VM groups only its storage', async () => {
        const objects = world('vm-running.yaml', 'storage.yaml').filter((o) => o.kind !== 'VirtualMachineInstance' && o.kind !== 'Pod');
        const vm = setPath(find(objects, 'VirtualMachine', 'test-vm'), ['status'], { printableStatus: 'Stopped' });
        expect((await related(vm, new StaticCluster(objects))).items).toEqual([dv('test-dv-template'), pvc('test-dv-template'), dv('test-dv'), pvc('test-dv'), pvc('test-pvc')]);
    });
});

describe('launcher pod ItemBlockAction (namespace backups reach pods before VMs)', () => {
    const vm = (name: string): ObjectRef => ({ group: 'kubevirt.io', resource: 'virtualmachines', namespace: NS, name });

    async function podRelated(item: KubeObject, cluster: ClusterReader): Promise<ObjectRef[]> {
        return wire(await runItemBlockAction(podItemBlockAction, item, makeBackup(), { cluster, log: captureLog().log }));
    }

    it('applies to launcher and hotplug pods only, by label', () => {
        expect(podItemBlockAction.name).toBe('kubevirt-velero-plugin/block-launcher-pod-action');
        expect(selectorOf(podItemBlockAction.appliesTo)).toEqual({ includedResources: ['pods'], selector: 'kubevirt.io in (virt-launcher, hotplug-disk)' });
    });

    test.each<[string, string[], string, ObjectRef[]]>([
        [
            'a VM’s launcher pod brings the VM, the VMI and its storage',
            ['vm-running.yaml', 'storage.yaml'],
            'virt-launcher-test-vm-x7k2p',
            [vm('test-vm'), vmi('test-vm'), dv('test-dv-template'), pvc('test-dv-template'), dv('test-dv'), pvc('test-dv'), pvc('test-pvc')],
        ],
        [
            'a standalone VMI’s launcher pod brings the VMI and its storage',
            ['vmi-standalone.yaml', 'storage.yaml'],
            'virt-launcher-test-vmi-h5d2s',
            [vmi('test-vmi'), dv('test-dv'), pvc('test-dv'), pvc('test-pvc')],
        ],
    ])('%s', async (_name, files, podName, expected) => {
        const objects = world(...files);
        expect(await podRelated(find(objects, 'Pod', podName), new StaticCluster(objects))).toEqual(expected);
    });

    it('a pod whose VMI is not in the cluster brings nothing', async () => {
        const objects = world('vm-running.yaml', 'storage.yaml');
        const pod = find(objects, 'Pod', 'virt-launcher-test-vm-x7k2p');
        expect(await podRelated(pod, new StaticCluster(objects.filter((o) => o.kind !== 'VirtualMachineInstance')))).toEqual([]);
    });

    it('an item that is not a pod brings nothing and reads nothing', async () => {
        const objects = world('vm-running.yaml', 'storage.yaml');
        expect(await podRelated(find(objects, 'VirtualMachine', 'test-vm'), forbiddenCluster)).toEqual([]);
    });

    it('cluster errors propagate (the operator must see them)', async () => {
        const objects = world('vm-running.yaml', 'storage.yaml');
        await expect(podRelated(find(objects, 'Pod', 'virt-launcher-test-vm-x7k2p'), forbiddenCluster)).rejects.toThrow(/forbidden/);
    });
});
