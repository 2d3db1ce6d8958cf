/**
 * backup-volumesnapshot-action: labels a VolumeSnapshot velero.kubevirt.io/pvc-uid=<UID of its source
 * PVC>, keeping a previous value in velero.kubevirt.io/original-volumesnapshot-uid. A snapshot without a
 * source PVC (pre-provisioned content) or whose PVC has no UID is unchanged. A source PVC that no longer
 * exists leaves the snapshot unchanged with a warning (upstream failed the item, and its per-namespace
 * cache also reported PVCs created after the first lookup as missing; the cluster reader has no such
 * stale cache).
 */
import { ANN, LABEL } from '../kube/annotations';
import { deepClone } from '../kube/json';
import { describe, namespaceOf, pathGet } from '../kube/object';
import { R } from '../kube/resources';
import { PLUGIN_PREFIX, type BackupAction } from '../plugin/contract';
import { KIND, withPvcUidLabel } from './common';

export const volumeSnapshotBackupAction: BackupAction = {
    name: `${PLUGIN_PREFIX}/backup-volumesnapshot-action`,
    appliesTo: { includedResources: ['volumesnapshots.snapshot.storage.k8s.io'], kinds: [{ kind: KIND.volumeSnapshot, group: 'snapshot.storage.k8s.io' }] },
    requiresBackup: true,
    async execute({ item }, { cluster, log }) {
        const pvcName = pathGet(item, ['spec', 'source', 'persistentVolumeClaimName']);
        if (typeof pvcName !== 'string' || pvcName === '') return { item, additionalItems: [] };
        const pvc = await cluster.get(R.pvcs, namespaceOf(item), pvcName);
        if (!pvc) {
            log.warn(`PVC ${pvcName} not found in namespace ${namespaceOf(item)}; ${describe(item)} left without ${LABEL.pvcUid} label`);
            return { item, additionalItems: [] };
        }
        const uid = pathGet(pvc, ['metadata', 'uid']);
        if (typeof uid !== 'string' || uid === '') return { item, additionalItems: [] };
        return { item: withPvcUidLabel(deepClone(item), uid, ANN.originalVolumeSnapshotUid), additionalItems: [] };
    },
};
