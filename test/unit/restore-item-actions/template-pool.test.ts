import { ANN } from '../../../src/kube/annotations';
import { deepClone } from '../../../src/kube/json';
import { annotationsOf, nameOf, pathGet, type KubeObject } from '../../../src/kube/object';
import { vmPoolRestoreAction } from '../../../src/restore-item-actions/pool';
import { vmTemplateRequestRestoreAction, vmTemplateRestoreAction } from '../../../src/restore-item-actions/template';
import { POOL_FINALIZER, vmRestoreAction } from '../../../src/restore-item-actions/vm';
import { loadFixtures } from '../fixtures';
import { keys, RecordingCluster, restoreWith, run, type Output } from './helpers';

function obj(kind: string, name: string): KubeObject {
    const found = loadFixtures('backup/templates-pools.yaml').find((o) => o.kind === kind && nameOf(o) === name);
    if (!found) throw new Error(`no ${kind} ${name}`);
    return deepClone(found);
}

function recorded(o: KubeObject, refs: string[]): KubeObject {
    o.metadata = { ...o.metadata, annotations: { ...annotationsOf(o), [ANN.restoreGraph]: JSON.stringify(refs) } };
    return o;
}

const mapped = restoreWith({ namespaceMapping: { tpl: 'tpl2' } });

describe('VirtualMachineTemplate restore action', () => {
    it('is registered for group-qualified templates', () => {
        expect(vmTemplateRestoreAction.name).toBe('kubevirt-velero-plugin/restore-virtualmachinetemplate-action');
        expect(vmTemplateRestoreAction.appliesTo).toEqual({ includedResources: ['virtualmachinetemplates.template.kubevirt.io'] });
    });

    it("Namespace mapping rewrites the embedded VM's sources and networks like a VM's; recorded sources come back first", async () => {
        const item = recorded(obj('VirtualMachineTemplate', 'golden'), ['datavolumes.cdi.kubevirt.io/golden-root', 'persistentvolumeclaims/golden-root']);
        const { output, messages } = await run(vmTemplateRestoreAction, item, mapped);
        const vmSpec = pathGet(output.item, ['spec', 'virtualMachine', 'spec']);
        expect(pathGet(vmSpec, ['dataVolumeTemplates', 0, 'spec', 'source', 'pvc'])).toEqual({ namespace: 'tpl2', name: 'golden-root' });
        expect(pathGet(vmSpec, ['dataVolumeTemplates', 1, 'spec', 'source', 'snapshot'])).toEqual({ namespace: 'tpl2', name: 'golden-snap' });
        expect(pathGet(vmSpec, ['template', 'spec', 'networks', 0, 'multus', 'networkName'])).toBe('tpl2/l2');
        expect(annotationsOf(output.item ?? {})[ANN.restoreGraph]).toBeUndefined();
        expect(keys(output.additionalItems)).toEqual(['datavolumes.cdi.kubevirt.io/tpl/golden-root', 'persistentvolumeclaims/tpl/golden-root']);
        expect(output.skipRestore).toBe(false);
        expect(messages).toEqual([
            'Mapping namespace reference spec.virtualMachine.spec.dataVolumeTemplates[0].spec.source.pvc.namespace of VirtualMachineTemplate tpl/golden from tpl to tpl2',
            'Mapping namespace reference spec.virtualMachine.spec.dataVolumeTemplates[1].spec.source.snapshot.namespace of VirtualMachineTemplate tpl/golden from tpl to tpl2',
            'Mapping namespace reference spec.virtualMachine.spec.template.spec.networks[0].multus.networkName of VirtualMachineTemplate tpl/golden from tpl/l2 to tpl2/l2',
        ]);
    });

    it('Without mapping or recording: item unchanged, sources computed from the item without reading the cluster', async () => {
        const { output, cluster } = await run(vmTemplateRestoreAction, obj('VirtualMachineTemplate', 'golden'));
        expect(output.item).toBeUndefined();
        expect(keys(output.additionalItems)).toEqual(['persistentvolumeclaims/tpl/golden-root', 'volumesnapshots.snapshot.storage.k8s.io/tpl/golden-snap']);
        expect(cluster.calls).toEqual([]);
    });
});

describe('VirtualMachineTemplateRequest restore action', () => {
    it('is registered for group-qualified requests', () => {
        expect(vmTemplateRequestRestoreAction.name).toBe('kubevirt-velero-plugin/restore-virtualmachinetemplaterequest-action');
        expect(vmTemplateRequestRestoreAction.appliesTo).toEqual({ includedResources: ['virtualmachinetemplaterequests.template.kubevirt.io'] });
    });

    it('A request is always skipped, with its reason logged', async () => {
        const { output, messages, cluster } = await run(vmTemplateRequestRestoreAction, obj('VirtualMachineTemplateRequest', 'golden'), mapped);
        expect(output).toEqual({ additionalItems: [], skipRestore: true });
        expect(cluster.calls).toEqual([]);
        expect(messages).toEqual([
            'Skipping VirtualMachineTemplateRequest tpl/golden: a template request runs once, and restoring it would make the template controller ' +
                'snapshot the VM and create the template again; the VirtualMachineTemplate it created is restored from the backup on its own',
        ]);
    });
});

describe('VirtualMachinePool restore action', () => {
    it('is registered for group-qualified pools', () => {
        expect(vmPoolRestoreAction.name).toBe('kubevirt-velero-plugin/restore-virtualmachinepool-action');
        expect(vmPoolRestoreAction.appliesTo).toEqual({ includedResources: ['virtualmachinepools.pool.kubevirt.io'] });
    });

    it("returns its VMs' recorded disks first and maps its VM template's references", async () => {
        const refs = ['datavolumes.cdi.kubevirt.io/web-disk-0', 'persistentvolumeclaims/web-disk-0', 'configmaps/web-config'];
        const { output } = await run(vmPoolRestoreAction, recorded(obj('VirtualMachinePool', 'web'), refs), mapped);
        expect(keys(output.additionalItems)).toEqual(['datavolumes.cdi.kubevirt.io/tpl/web-disk-0', 'persistentvolumeclaims/tpl/web-disk-0', 'configmaps/tpl/web-config']);
        const vmSpec = pathGet(output.item, ['spec', 'virtualMachineTemplate', 'spec']);
        expect(pathGet(vmSpec, ['dataVolumeTemplates', 0, 'spec', 'source', 'pvc', 'namespace'])).toBe('tpl2');
        expect(pathGet(vmSpec, ['template', 'spec', 'networks', 0, 'multus', 'networkName'])).toBe('tpl2/l2');
        expect(annotationsOf(output.item ?? {})[ANN.restoreGraph]).toBeUndefined();
    });

    it('Without a recording it returns what its template refers to, never a VM', async () => {
        const { output, cluster } = await run(vmPoolRestoreAction, obj('VirtualMachinePool', 'web'));
        expect(output.item).toBeUndefined();
        expect(keys(output.additionalItems)).toEqual(['configmaps/tpl/web-config', 'network-attachment-definitions.k8s.cni.cncf.io/tpl/l2']);
        expect(cluster.calls).toEqual([]);
    });
});

describe('VM restore action on a VM a pool controlled', () => {
    /** Velero hands the item without ownerReferences (it strips them) and itemFromBackup as backed up. */
    async function restoreVm(cluster: RecordingCluster, restore = mapped): Promise<{ output: Output; messages: string[] }> {
        const backedUp = obj('VirtualMachine', 'web-0');
        const item = deepClone(backedUp);
        delete item.metadata?.ownerReferences;
        const { output, messages } = await run(vmRestoreAction, item, restore, cluster, { itemFromBackup: backedUp });
        return { output, messages };
    }

    it('is skipped when its pool is in the target namespace: the pool recreates it, so no duplicate', async () => {
        const pool = { ...obj('VirtualMachinePool', 'web'), metadata: { name: 'web', namespace: 'tpl2' } };
        const cluster = new RecordingCluster([pool]);
        const { output, messages } = await restoreVm(cluster);
        expect(output).toEqual({ additionalItems: [], skipRestore: true });
        expect(cluster.calls).toEqual(['get virtualmachinepools.pool.kubevirt.io tpl2/web']);
        expect(messages).toContain(
            'Skipping VirtualMachine tpl/web-0: it belongs to VirtualMachinePool tpl2/web, which recreates it under the same name and reuses its ' +
                'restored DataVolumes and PVCs; a restored copy would not be counted by the pool and would become a duplicate',
        );
    });

    it('is restored standalone, without the pool finalizer, when its pool is not there', async () => {
        const cluster = new RecordingCluster([{ ...obj('VirtualMachinePool', 'web'), metadata: { name: 'web', namespace: 'tpl' } }]);
        const { output, messages } = await restoreVm(cluster);
        expect(output.skipRestore).toBe(false);
        expect(output.item?.metadata?.['finalizers']).toBeUndefined();
        expect(output.item?.metadata?.ownerReferences).toBeUndefined();
        expect(pathGet(output.item, ['metadata', 'labels'])).toEqual({ 'kubevirt.io/vmpool': 'web' });
        expect(keys(output.additionalItems)).toEqual(['datavolumes.cdi.kubevirt.io/tpl/web-disk-0', 'persistentvolumeclaims/tpl/web-disk-0', 'configmaps/tpl/web-config']);
        expect(messages).toContain('VirtualMachine tpl/web-0 belonged to VirtualMachinePool web, which is not in namespace tpl2: restoring it as a standalone VM');
    });

    it('keeps other finalizers of a standalone-restored VM', async () => {
        const backedUp = obj('VirtualMachine', 'web-1');
        backedUp.metadata = { ...backedUp.metadata, finalizers: ['example.com/keep', POOL_FINALIZER] };
        const { output } = await run(vmRestoreAction, deepClone(backedUp), restoreWith(), new RecordingCluster(), { itemFromBackup: backedUp });
        expect(output.item?.metadata?.['finalizers']).toEqual(['example.com/keep']);
    });

    it('An owner name that is not an object name is never looked up; the VM is restored standalone', async () => {
        const backedUp = obj('VirtualMachine', 'web-1');
        backedUp.metadata = { ...backedUp.metadata, ownerReferences: [{ apiVersion: 'pool.kubevirt.io/v1beta1', kind: 'VirtualMachinePool', name: '../x', controller: true }] };
        const cluster = new RecordingCluster();
        const { output } = await run(vmRestoreAction, deepClone(backedUp), restoreWith(), cluster, { itemFromBackup: backedUp });
        expect(cluster.calls).toEqual([]);
        expect(output.skipRestore).toBe(false);
        expect(output.item?.metadata?.ownerReferences).toBeUndefined();
    });

    it('A VM without a pool owner reads no pool', async () => {
        const cluster = new RecordingCluster();
        await run(vmRestoreAction, obj('VirtualMachine', 'standalone'), mapped, cluster);
        expect(cluster.calls.filter((c) => c.includes('virtualmachinepools'))).toEqual([]);
    });
});
