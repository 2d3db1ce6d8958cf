/**
 * backup-pvc-action: labels every PVC velero.kubevirt.io/pvc-uid=<metadata.uid>, keeping a value the
 * label already had (whatever it is, even the same UID) in velero.kubevirt.io/original-pvc-uid, so that a
 * restore can select a VM's disks by their original UID and put the user's label back. A PVC without a
 * UID is unchanged.
 */
import { ANN, LABEL } from '../kube/annotations';
import { PLUGIN_PREFIX, type BackupActionSpec } from '../kube/action';
import { deepClone } from '../kube/json';
import { labelsOf, pathGet } from '../kube/object';
import { KIND, requireKind, setAnnotationIfChanged, setLabelIfChanged } from './common';

export const pvcBackupAction: BackupActionSpec = {
    name: `${PLUGIN_PREFIX}/backup-pvc-action`,
    appliesTo: { includedResources: ['persistentvolumeclaims'] },
    async execute({ item }, { log }) {
        log.debug('Executing PVCBackupItemAction');
        requireKind(item, KIND.pvc, '');
        const uid = pathGet(item, ['metadata', 'uid']);
        if (typeof uid !== 'string' || uid === '') return { additionalItems: [] };
        const out = deepClone(item);
        const existing = labelsOf(item)[LABEL.pvcUid];
        const changes = [
            existing !== undefined && setAnnotationIfChanged(out, ANN.originalPvcUid, String(existing)),
            setLabelIfChanged(out, LABEL.pvcUid, uid),
        ];
        return changes.some(Boolean) ? { item: out, additionalItems: [] } : { additionalItems: [] };
    },
};
