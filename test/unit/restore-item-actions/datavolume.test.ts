import { pathGet } from '../../../src/kube/object';
import { dataVolumeRestoreAction } from '../../../src/restore-item-actions/datavolume';
import { fixture, fixtures, RecordingCluster, restoreWith, run, runError } from './helpers';

const configMaps = (): RecordingCluster => new RecordingCluster(fixtures('configmaps.yaml'));

describe('DataVolume restore action', () => {
    it('is registered under a new name for group-qualified DataVolumes', () => {
        expect(dataVolumeRestoreAction.name).toBe('kubevirt-velero-plugin/restore-datavolume-action');
        expect(dataVolumeRestoreAction.appliesTo).toEqual({ includedResources: ['datavolumes.cdi.kubevirt.io'] });
    });

    it.each([
        ['spec.pvc.storageClassName is remapped', 'cloned', ['pvc', 'storageClassName'], 'slow-b'],
        ['spec.storage.storageClassName is remapped', 'golden', ['storage', 'storageClassName'], 'fast-b'],
    ])('%s by the change-storage-class ConfigMap', async (_name, dvName, path, expected) => {
        const { output, messages } = await run(dataVolumeRestoreAction, fixture('datavolumes.yaml', dvName), restoreWith(), configMaps());
        expect(pathGet(output.item, ['spec', ...path])).toBe(expected);
        expect(pathGet(output.item, ['metadata', 'annotations'])).toEqual(pathGet(fixture('datavolumes.yaml', dvName), ['metadata', 'annotations']));
        expect(messages).toEqual([`Updating storage class of spec.${path.join('.')} of DataVolume src/${dvName} from ${dvName === 'cloned' ? 'slow' : 'fast'} to ${expected}`]);
    });

    it.each([
        ['a DataVolume without storage class reads no ConfigMap', 'snapshot', []],
        ['a storage class mapped to itself changes nothing', 'blank', ['list configmaps velero']],
    ])('Unchanged: %s', async (_name, dvName, calls) => {
        const { output, cluster } = await run(dataVolumeRestoreAction, fixture('datavolumes.yaml', dvName), restoreWith(), configMaps());
        expect(output).toEqual({ additionalItems: [], skipRestore: false });
        expect(cluster.calls).toEqual(calls);
    });

    it('Without a change-storage-class ConfigMap nothing changes', async () => {
        const { output } = await run(dataVolumeRestoreAction, fixture('datavolumes.yaml', 'golden'));
        expect(output.item).toBeUndefined();
    });

    it.each([
        ['source.pvc.namespace', 'cloned', ['source', 'pvc', 'namespace'], 'dst'],
        ['source.snapshot.namespace', 'snapshot', ['source', 'snapshot', 'namespace'], 'dst'],
        ['sourceRef.namespace of a golden image (not mapped) is left alone', 'golden', ['sourceRef', 'namespace'], 'golden'],
    ])('Namespace mapping: %s', async (_name, dvName, path, expected) => {
        const { output } = await run(dataVolumeRestoreAction, fixture('datavolumes.yaml', dvName), restoreWith({ namespaceMapping: { src: 'dst' } }));
        expect(pathGet(output.item ?? fixture('datavolumes.yaml', dvName), ['spec', ...path])).toBe(expected);
    });

    it('A mapping to an empty name fails only the DataVolumes that use that key', async () => {
        const broken = (): RecordingCluster => new RecordingCluster(fixtures('configmap-empty-target.yaml'));
        const error = await runError(dataVolumeRestoreAction, fixture('datavolumes.yaml', 'golden'), restoreWith(), broken());
        expect(error.reason).toBe('InvalidConfig');
        expect(error.detail).toBe('ConfigMap velero/broken-sc: key "fast" maps storage class fast to an empty name');
        const { output } = await run(dataVolumeRestoreAction, fixture('datavolumes.yaml', 'cloned'), restoreWith(), broken());
        expect(pathGet(output.item, ['spec', 'pvc', 'storageClassName'])).toBe('slow-b');
    });
});
