/**
 * backup-datavolume-action (PVCs and DataVolumes).
 *  - DataVolume, Succeeded in the item: annotation cdi.kubevirt.io/storage.prePopulated=<name> (CDI does
 *    not re-populate the PVC after restore) and the PVC as additional item. Otherwise unchanged.
 *  - PVC owned by a DataVolume (ownerReference kind DataVolume, group cdi.kubevirt.io; upstream did not
 *    check the group): the live DataVolume decides: Succeeded → cdi.kubevirt.io/storage.populatedFor,
 *    else kvp.kubevirt.io/storage.inprogress (the restore skips the PVC and CDI imports again). A
 *    DataVolume that no longer exists leaves the PVC unchanged with a warning (upstream failed the item).
 *  - Any other kind passes through unchanged, as upstream.
 */
import { dataVolumeBackupGraph, owningDataVolume } from '../graph/index';
import { ANN } from '../kube/annotations';
import { PLUGIN_PREFIX, type BackupActionSpec } from '../kube/action';
import { deepClone } from '../kube/json';
import { nameOf, namespaceOf, pathGet } from '../kube/object';
import { R } from '../kube/resources';
import { getThroughList } from '../cluster/view';
import { KIND, nsName, requireBackup, requireKind, setAnnotationIfChanged } from './common';

function groupOf(apiVersion: string | undefined): string {
    const v = apiVersion ?? '';
    return v.includes('/') ? v.slice(0, v.indexOf('/')) : '';
}

export const dataVolumeBackupAction: BackupActionSpec = {
    name: `${PLUGIN_PREFIX}/backup-datavolume-action`,
    appliesTo: { includedResources: ['persistentvolumeclaims', 'datavolumes.cdi.kubevirt.io'] },
    async execute({ item, backup }, { cluster, log }) {
        log.debug('Executing DVBackupItemAction');
        requireBackup(backup);

        if (item.kind === KIND.pvc && groupOf(item.apiVersion) === '') {
            requireKind(item, KIND.pvc, '');
            const dvName = owningDataVolume(item);
            if (!dvName) return { additionalItems: [] };
            log.info(`handling PVC ${nsName(item)}`);
            const dv = await getThroughList(cluster, R.dataVolumes, namespaceOf(item), dvName);
            if (!dv) {
                log.warn(`DataVolume ${namespaceOf(item)}/${dvName} owning PVC ${nameOf(item)} not found; PVC left unchanged`);
                return { additionalItems: [] };
            }
            const out = deepClone(item);
            const succeeded = pathGet(dv, ['status', 'phase']) === 'Succeeded';
            const changed = setAnnotationIfChanged(out, succeeded ? ANN.populatedFor : ANN.inProgress, dvName);
            return changed ? { item: out, additionalItems: [] } : { additionalItems: [] };
        }

        if (item.kind === KIND.dataVolume && groupOf(item.apiVersion) === 'cdi.kubevirt.io') {
            requireKind(item, KIND.dataVolume, 'cdi.kubevirt.io');
            log.info(`handling DataVolume ${nsName(item)}`);
            if (pathGet(item, ['status', 'phase']) !== 'Succeeded') return { additionalItems: [] };
            const out = deepClone(item);
            const changed = setAnnotationIfChanged(out, ANN.prePopulated, nameOf(item));
            const additionalItems = dataVolumeBackupGraph(item);
            return changed ? { item: out, additionalItems } : { additionalItems };
        }

        log.debug(`DVBackupItemAction: kind ${String(item.kind)} passes through`);
        return { additionalItems: [] };
    },
};
