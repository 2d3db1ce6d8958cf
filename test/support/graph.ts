/** The graph of any item, by kind: a test convenience over the per-kind graphs of src/graph. */
import { dataVolumeBackupGraph, pvcBackupGraph, vmBackupGraph, vmiBackupGraph, vmirsBackupGraph, vmiRestoreGraph, vmRestoreGraph, type ClusterView } from '../../src/graph';
import type { KubeObject } from '../../src/kube/object';
import { KIND, type ObjectRef } from '../../src/kube/resources';

/** Backup graph of any item: VM, VMI, VMIRS, DataVolume or PVC; [] for other kinds. */
export function backupGraph(obj: KubeObject, view: ClusterView): ObjectRef[] {
    switch (obj.kind) {
        case KIND.vm:
            return vmBackupGraph(obj, view);
        case KIND.vmi:
            return vmiBackupGraph(obj, view);
        case KIND.vmirs:
            return vmirsBackupGraph(obj, view);
        case KIND.dataVolume:
            return dataVolumeBackupGraph(obj);
        case KIND.pvc:
            return pvcBackupGraph(obj);
        default:
            return [];
    }
}

/** Restore graph of any item: VM or VMI; [] for other kinds. */
export function restoreGraph(obj: KubeObject, view: ClusterView): ObjectRef[] {
    switch (obj.kind) {
        case KIND.vm:
            return vmRestoreGraph(obj, view);
        case KIND.vmi:
            return vmiRestoreGraph(obj, view);
        default:
            return [];
    }
}
