import { PLUGIN_PREFIX, type RestoreActionSpec } from '../kube/action';
import { ANN } from '../kube/annotations';
import { deepClone } from '../kube/json';
import { changed, restorePvcUidLabel } from './common';

/** VolumeSnapshots: the pvc-uid label clean-up of the PVC action, with the VolumeSnapshot annotation. Never skips. */
export const volumeSnapshotRestoreAction: RestoreActionSpec = {
    name: `${PLUGIN_PREFIX}/restore-volumesnapshot-action`,
    appliesTo: { includedResources: ['volumesnapshots.snapshot.storage.k8s.io'] },
    async execute({ item }, deps) {
        deps.log.info('Executing VolumeSnapshotRestoreItemAction');
        const snapshot = deepClone(item);
        restorePvcUidLabel(snapshot, ANN.originalVolumeSnapshotUid);
        return { ...(changed(item, snapshot) ? { item: snapshot } : {}), additionalItems: [], skipRestore: false };
    },
};
