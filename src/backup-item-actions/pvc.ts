/**
 * backup-pvc-action: labels every PVC velero.kubevirt.io/pvc-uid=<metadata.uid>, keeping a value the
 * label already had (whatever it is, even the same UID) in velero.kubevirt.io/original-pvc-uid, so that a
 * restore can select a VM's disks by their original UID and put the user's label back. A PVC without a
 * UID is unchanged.
 */
import { ANN } from '../kube/annotations';
import { PLUGIN_PREFIX, type BackupActionSpec } from '../kube/action';
import { pathGet } from '../kube/object';
import { KIND, requireKind, withPvcUidLabel } from './common';

export const pvcBackupAction: BackupActionSpec = {
    name: `${PLUGIN_PREFIX}/backup-pvc-action`,
    appliesTo: { includedResources: ['persistentvolumeclaims'] },
    async execute({ item }, { log }) {
        log.debug('Executing PVCBackupItemAction');
        requireKind(item, KIND.pvc, '');
        const uid = pathGet(item, ['metadata', 'uid']);
        if (typeof uid !== 'string' || uid === '') return { additionalItems: [] };
        const out = withPvcUidLabel(item, uid, ANN.originalPvcUid);
        return out ? { item: out, additionalItems: [] } : { additionalItems: [] };
    },
};
