import { ANN, LABEL } from '../kube/annotations';
import { deepClone } from '../kube/json';
import { annotationsOf, labelsOf } from '../kube/object';
import { PLUGIN_PREFIX, type RestoreAction } from '../plugin/contract';
import { restorePvcUidLabel } from './common';

/**
 * PVCs: a PVC whose DataVolume had not finished at backup time (annotation
 * kvp.kubevirt.io/storage.inprogress) is skipped, so that CDI populates a fresh one from the DataVolume.
 * Otherwise the pvc-uid label is restored or removed; cdi.kubevirt.io/storage.populatedFor stays so
 * that the prePopulated DataVolume adopts the PVC. Storage classes of PVCs are Velero's own
 * change-storage-class action's business (see storageclass.ts).
 */
export const pvcRestoreAction: RestoreAction = {
    name: `${PLUGIN_PREFIX}/restore-pvc-action`,
    appliesTo: { includedResources: ['persistentvolumeclaims'] },
    async execute({ item }) {
        if (ANN.inProgress in annotationsOf(item)) {
            return { item, additionalItems: [], skipRestore: true };
        }
        // Without the label there is nothing to restore or remove: the item goes back as it came.
        if (!(LABEL.pvcUid in labelsOf(item))) return { item, additionalItems: [], skipRestore: false };
        const pvc = deepClone(item);
        restorePvcUidLabel(pvc, ANN.originalPvcUid);
        return { item: pvc, additionalItems: [], skipRestore: false };
    },
};
