/**
 * backup-volumesnapshot-action: labels a VolumeSnapshot velero.kubevirt.io/pvc-uid=<UID of its source
 * PVC>, keeping a previous value in velero.kubevirt.io/original-volumesnapshot-uid. A snapshot without a
 * source PVC (pre-provisioned content) or whose PVC has no UID is unchanged. A source PVC that no longer
 * exists leaves the snapshot unchanged with a warning (upstream failed the item, and its per-namespace
 * cache also reported PVCs created after the first lookup as missing; the cluster reader has no such
 * stale cache).
 */
import { ANN, LABEL } from '../kube/annotations';
import { PLUGIN_PREFIX, type BackupActionSpec } from '../kube/action';
import { namespaceOf, pathGet } from '../kube/object';
import { R } from '../kube/resources';
import { KIND, nsName, requireBackup, requireKind, withPvcUidLabel } from './common';

export const volumeSnapshotBackupAction: BackupActionSpec = {
    name: `${PLUGIN_PREFIX}/backup-volumesnapshot-action`,
    appliesTo: { includedResources: ['volumesnapshots.snapshot.storage.k8s.io'] },
    async execute({ item, backup }, { cluster, log }) {
        log.debug('Executing VolumeSnapshotBackupItemAction');
        requireBackup(backup);
        requireKind(item, KIND.volumeSnapshot, 'snapshot.storage.k8s.io');
        const pvcName = pathGet(item, ['spec', 'source', 'persistentVolumeClaimName']);
        if (typeof pvcName !== 'string' || pvcName === '') return { additionalItems: [] };
        const pvc = await cluster.get(R.pvcs, namespaceOf(item), pvcName);
        if (!pvc) {
            log.warn(`PVC ${pvcName} not found in namespace ${namespaceOf(item)}; VolumeSnapshot ${nsName(item)} left without ${LABEL.pvcUid} label`);
            return { additionalItems: [] };
        }
        const uid = pathGet(pvc, ['metadata', 'uid']);
        if (typeof uid !== 'string' || uid === '') return { additionalItems: [] };
        const out = withPvcUidLabel(item, uid, ANN.originalVolumeSnapshotUid);
        return out ? { item: out, additionalItems: [] } : { additionalItems: [] };
    },
};
