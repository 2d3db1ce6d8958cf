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
import { PLUGIN_PREFIX, type BackupAction } from '../plugin/contract';
import { deepClone } from '../kube/json';
import { nameOf, namespaceOf, pathGet, setAnnotation } from '../kube/object';
import { R } from '../kube/resources';
import { getThroughList } from '../cluster/view';
import { KIND } from './common';

export const dataVolumeBackupAction: BackupAction = {
    name: `${PLUGIN_PREFIX}/backup-datavolume-action`,
    appliesTo: {
        includedResources: ['persistentvolumeclaims', 'datavolumes.cdi.kubevirt.io'],
        kinds: [
            { kind: KIND.pvc, group: '' },
            { kind: KIND.dataVolume, group: 'cdi.kubevirt.io' },
        ],
        otherKinds: 'skip',
    },
    requiresBackup: true,
    async execute({ item }, { cluster, log }) {
        if (item.kind === KIND.pvc) {
            const dvName = owningDataVolume(item);
            if (!dvName) return { item, additionalItems: [] };
            const dv = await getThroughList(cluster, R.dataVolumes, namespaceOf(item), dvName);
            if (!dv) {
                log.warn(`DataVolume ${namespaceOf(item)}/${dvName} owning PVC ${nameOf(item)} not found; PVC left unchanged`);
                return { item, additionalItems: [] };
            }
            const out = deepClone(item);
            const succeeded = pathGet(dv, ['status', 'phase']) === 'Succeeded';
            setAnnotation(out, succeeded ? ANN.populatedFor : ANN.inProgress, dvName);
            return { item: out, additionalItems: [] };
        }

        if (pathGet(item, ['status', 'phase']) !== 'Succeeded') return { item, additionalItems: [] };
        const out = deepClone(item);
        setAnnotation(out, ANN.prePopulated, nameOf(item));
        return { item: out, additionalItems: dataVolumeBackupGraph(item) };
    },
};
