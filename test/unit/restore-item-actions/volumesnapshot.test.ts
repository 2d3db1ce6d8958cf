import { pathGet } from '../../../src/kube/object';
import { volumeSnapshotRestoreAction } from '../../../src/restore-item-actions/volumesnapshot';
import { fixture, run } from './helpers';
import { selectorOf } from '../../../src/plugin/adapter';

describe('VolumeSnapshot restore action registration', () => {
    it('keeps the Go plugin name and applies to group-qualified VolumeSnapshots', () => {
        expect(volumeSnapshotRestoreAction.name).toBe('kubevirt-velero-plugin/restore-volumesnapshot-action');
        expect(selectorOf(volumeSnapshotRestoreAction.appliesTo)).toEqual({ includedResources: ['volumesnapshots.snapshot.storage.k8s.io'] });
    });
});

describe('VolumeSnapshot restore action (upstream TestVolumeSnapshotRestoreExecute)', () => {
    it.each([
        ['Remove the PVC UID label', 'labelled', { app: 'db' }, undefined],
        ['Restore the original label value from the collision annotation', 'collision', { 'velero.kubevirt.io/pvc-uid': 'user-value' }, undefined],
    ])('%s', async (_name, snapshotName, labels, annotations) => {
        const { output, messages } = await run(volumeSnapshotRestoreAction, fixture('volumesnapshots.yaml', snapshotName));
        expect(output.skipRestore).toBe(false);
        expect(pathGet(output.item, ['metadata', 'labels'])).toEqual(labels);
        expect(pathGet(output.item, ['metadata', 'annotations'])).toEqual(annotations);
        expect(messages).toEqual([]);
    });

    it.each([
        ['Handle VolumeSnapshot without the label', 'no-uid-label'],
        ['Handle VolumeSnapshot without any labels', 'no-labels'],
    ])('%s: unchanged, returned as no item', async (_name, snapshotName) => {
        const { output } = await run(volumeSnapshotRestoreAction, fixture('volumesnapshots.yaml', snapshotName));
        expect(output).toEqual({ additionalItems: [], skipRestore: false });
    });
});
