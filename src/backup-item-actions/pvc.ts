/**
 * backup-pvc-action: labels every PVC velero.kubevirt.io/pvc-uid=<metadata.uid>, keeping a value the
 * label already had (whatever it is, even the same UID) in velero.kubevirt.io/original-pvc-uid, so that a
 * restore can select a VM's disks by their original UID and put the user's label back. A PVC without a
 * UID is unchanged.
 */
import { ANN } from '../kube/annotations';
import { deepClone } from '../kube/json';
import { pathGet } from '../kube/object';
import { PLUGIN_PREFIX, type BackupAction } from '../plugin/contract';
import { KIND, withPvcUidLabel } from './common';

export const pvcBackupAction: BackupAction = {
    name: `${PLUGIN_PREFIX}/backup-pvc-action`,
    appliesTo: { includedResources: ['persistentvolumeclaims'], kinds: [{ kind: KIND.pvc, group: '' }] },
    requiresBackup: false,
    async execute({ item }) {
        const uid = pathGet(item, ['metadata', 'uid']);
        if (typeof uid !== 'string' || uid === '') return { item, additionalItems: [] };
        return { item: withPvcUidLabel(deepClone(item), uid, ANN.originalPvcUid), additionalItems: [] };
    },
};
