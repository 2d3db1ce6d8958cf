import { PLUGIN_PREFIX, type RestoreActionSpec } from '../kube/action';
import { ANN } from '../kube/annotations';
import { deepClone } from '../kube/json';
import { annotationsOf, nameOf, namespaceOf } from '../kube/object';
import { changed, restorePvcUidLabel } from './common';

/**
 * PVCs: a PVC whose DataVolume had not finished at backup time (annotation
 * kvp.kubevirt.io/storage.inprogress) is skipped, so that CDI populates a fresh one from the DataVolume.
 * Otherwise the pvc-uid label is restored or removed; cdi.kubevirt.io/storage.populatedFor stays so
 * that the prePopulated DataVolume adopts the PVC. Storage classes of PVCs are Velero's own
 * change-storage-class action's business (see storageclass.ts).
 */
export const pvcRestoreAction: RestoreActionSpec = {
    name: `${PLUGIN_PREFIX}/restore-pvc-action`,
    appliesTo: { includedResources: ['persistentvolumeclaims'] },
    async execute({ item }, deps) {
        deps.log.info('Executing PVCRestoreItemAction');
        deps.log.info(`handling PVC ${namespaceOf(item)}/${nameOf(item)}`);
        if (ANN.inProgress in annotationsOf(item)) {
            return { additionalItems: [], skipRestore: true };
        }
        const pvc = deepClone(item);
        restorePvcUidLabel(pvc, ANN.originalPvcUid);
        return { ...(changed(item, pvc) ? { item: pvc } : {}), additionalItems: [], skipRestore: false };
    },
};
