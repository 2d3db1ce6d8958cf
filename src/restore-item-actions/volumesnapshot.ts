import { ANN } from '../kube/annotations';
import { deepClone } from '../kube/json';
import { PLUGIN_PREFIX, type RestoreAction } from '../plugin/contract';
import { restorePvcUidLabel } from './common';

/** VolumeSnapshots: the pvc-uid label clean-up of the PVC action, with the VolumeSnapshot annotation. Never skips. */
export const volumeSnapshotRestoreAction: RestoreAction = {
    name: `${PLUGIN_PREFIX}/restore-volumesnapshot-action`,
    appliesTo: { includedResources: ['volumesnapshots.snapshot.storage.k8s.io'] },
    async execute({ item }) {
        const snapshot = deepClone(item);
        restorePvcUidLabel(snapshot, ANN.originalVolumeSnapshotUid);
        return { item: snapshot, additionalItems: [], skipRestore: false };
    },
};
