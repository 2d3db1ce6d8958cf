import { vmPoolBackupAction } from '../../../src/backup-item-actions/pool';
import { vmTemplateBackupAction } from '../../../src/backup-item-actions/template';
import { ANN } from '../../../src/kube/annotations';
import { annotationOf } from '../../../src/kube/object';
import { groupResourceString, type ObjectRef } from '../../../src/kube/resources';
import { find, makeBackup, refusal, runBackup, setPath, world } from './helpers';
import { selectorOf } from '../../../src/plugin/adapter';

const keys = (refs: readonly ObjectRef[]): string[] => refs.map((r) => `${groupResourceString(r)}/${r.namespace}/${r.name}`);
const objects = () => world('templates-pools.yaml');

describe('VirtualMachineTemplate backup action', () => {
    it('is registered for group-qualified templates', () => {
        expect(vmTemplateBackupAction.name).toBe('kubevirt-velero-plugin/backup-virtualmachinetemplate-action');
        expect(selectorOf(vmTemplateBackupAction.appliesTo)).toEqual({ includedResources: ['virtualmachinetemplates.template.kubevirt.io'] });
    });

    it('A template made by a request brings the DataVolume and PVC it clones and the VolumeSnapshot, and records them', async () => {
        const all = objects();
        const { out, item } = await runBackup(vmTemplateBackupAction, find(all, 'VirtualMachineTemplate', 'golden'), makeBackup(), all);
        expect(keys(out.additionalItems)).toEqual([
            'datavolumes.cdi.kubevirt.io/tpl/golden-root',
            'persistentvolumeclaims/tpl/golden-root',
            'volumesnapshots.snapshot.storage.k8s.io/tpl/golden-snap',
        ]);
        expect(annotationOf(item, ANN.restoreGraph)).toBe(
            '["datavolumes.cdi.kubevirt.io/golden-root","persistentvolumeclaims/golden-root","volumesnapshots.snapshot.storage.k8s.io/golden-snap"]',
        );
    });

    it('A v1alpha1 template with a raw VM (no apiVersion): shared volumes follow, parameters, other namespaces and DataSources do not', async () => {
        const all = objects();
        const { out } = await runBackup(vmTemplateBackupAction, find(all, 'VirtualMachineTemplate', 'shared'), makeBackup(), all);
        expect(keys(out.additionalItems)).toEqual([
            'persistentvolumeclaims/tpl/plain-pvc',
            'persistentvolumeclaims/tpl/shared-scratch',
            'datavolumes.cdi.kubevirt.io/tpl/shared-data',
            'persistentvolumeclaims/tpl/shared-data',
        ]);
    });

    it.each([
        ['no spec.virtualMachine', ['spec', 'virtualMachine'], undefined, 'InvalidItem: spec.virtualMachine is missing'],
        ['spec.virtualMachine not an object', ['spec', 'virtualMachine'], 'vm', 'InvalidItem: spec.virtualMachine is not an object'],
    ])('Refuses a malformed template: %s', async (_name, path, value, expected) => {
        const all = objects();
        const item = setPath(find(all, 'VirtualMachineTemplate', 'golden'), path, value);
        expect(await refusal(vmTemplateBackupAction, item, makeBackup(), all)).toBe(expected);
    });

    it('Refuses an object of another kind', async () => {
        const all = objects();
        expect(await refusal(vmTemplateBackupAction, find(all, 'VirtualMachinePool', 'web'), makeBackup(), all)).toBe(
            'InvalidItem: expected a VirtualMachineTemplate, got kind "VirtualMachinePool"',
        );
    });
});

describe('VirtualMachinePool backup action', () => {
    it('is registered for group-qualified pools', () => {
        expect(vmPoolBackupAction.name).toBe('kubevirt-velero-plugin/backup-virtualmachinepool-action');
        expect(selectorOf(vmPoolBackupAction.appliesTo)).toEqual({ includedResources: ['virtualmachinepools.pool.kubevirt.io'] });
    });

    it("A pool brings the VMs it controls (not a namesake pool's, not label look-alikes) and its template's references (not the per-VM DataVolumes it templates)", async () => {
        const all = objects();
        const { out } = await runBackup(vmPoolBackupAction, find(all, 'VirtualMachinePool', 'web'), makeBackup(), all);
        expect(keys(out.additionalItems)).toEqual([
            'virtualmachines.kubevirt.io/tpl/web-0',
            'virtualmachines.kubevirt.io/tpl/web-1',
            'configmaps/tpl/web-config',
            'network-attachment-definitions.k8s.cni.cncf.io/tpl/l2',
        ]);
    });

    it('records what its VMs need at restore (their disks and configuration), never the VMs', async () => {
        const all = objects();
        const { item } = await runBackup(vmPoolBackupAction, find(all, 'VirtualMachinePool', 'web'), makeBackup(), all);
        expect(JSON.parse(annotationOf(item, ANN.restoreGraph) ?? 'null')).toEqual([
            'datavolumes.cdi.kubevirt.io/web-disk-0',
            'persistentvolumeclaims/web-disk-0',
            'configmaps/web-config',
            'datavolumes.cdi.kubevirt.io/web-disk-1',
            'persistentvolumeclaims/web-disk-1',
            'network-attachment-definitions.k8s.cni.cncf.io/l2',
        ]);
    });
});
