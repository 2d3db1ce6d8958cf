/**
 * The VM object graph: pure functions (no I/O) from a KubeVirt or CDI object, plus a read-only view of
 * its namespace, to the ordered, de-duplicated list of objects that must travel with it.
 * STUB: the signatures below are the contract; the implementations land with the graph issue.
 */
import type { KubeObject } from '../kube/object';
import type { GroupResource, ObjectRef } from '../kube/resources';
import { R } from '../kube/resources';

/** A synchronous, already-fetched view of one namespace (see src/cluster/view.ts). */
export interface ClusterView {
    /** Every object of the resource in the namespace ([] when not fetched or none). */
    list(resource: GroupResource, namespace: string): readonly KubeObject[];
    get(resource: GroupResource, namespace: string, name: string): KubeObject | undefined;
}

/** What a graph computation may read; the action layer fetches these lists before calling the graph. */
export const GRAPH_NEEDS: readonly GroupResource[] = [R.pods, R.pvcs, R.vmis, R.dataVolumes];

export function vmBackupGraph(_vm: KubeObject, _view: ClusterView): ObjectRef[] {
    return [];
}
export function vmiBackupGraph(_vmi: KubeObject, _view: ClusterView): ObjectRef[] {
    return [];
}
export function vmirsBackupGraph(_vmirs: KubeObject, _view: ClusterView): ObjectRef[] {
    return [];
}
export function dataVolumeBackupGraph(_dv: KubeObject): ObjectRef[] {
    return [];
}
export function vmRestoreGraph(_vm: KubeObject, _view: ClusterView): ObjectRef[] {
    return [];
}
export function vmiRestoreGraph(_vmi: KubeObject, _view: ClusterView): ObjectRef[] {
    return [];
}
/** The VMI's ItemBlock: VMI, launcher pods, DataVolumes, PVCs and the TPM/EFI state PVC. */
export function itemBlockGraph(_obj: KubeObject, _view: ClusterView): ObjectRef[] {
    return [];
}
/** Launcher pods of a VMI: label kubevirt.io/created-by=<uid>, annotation kubevirt.io/domain=<name>, not Succeeded/Failed. */
export function launcherPods(_vmi: KubeObject, _view: ClusterView): KubeObject[] {
    return [];
}
