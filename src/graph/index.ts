/**
 * The VM object graph: pure functions (no I/O) from a KubeVirt or CDI object, plus a read-only view of
 * its namespace, to the ordered, de-duplicated list of objects that must travel with it.
 *
 * Every reference uses the source object's namespace; nothing cluster-scoped or cross-namespace is ever
 * emitted. Names are copied from the item as they are and each reference carries the field it came from:
 * src/plugin/adapter.ts checks every reference against src/kube/refcheck.ts before Velero sees it
 * (docs/decisions/007-trust-model.md). Malformed input (null spec, missing template, volumes not an array, unknown volume types)
 * yields fewer edges, never an exception: the actions decide what is an error.
 */
import type { GroupResource } from '../kube/resources';
import { R } from '../kube/resources';

export type { ClusterView } from './view';
export { dataVolumeBackupGraph, pvcBackupGraph, replicaSetVmis, vmBackupGraph, vmiBackupGraph, vmirsBackupGraph } from './backup';
export { vmiRestoreGraph, vmRestoreGraph } from './restore';
export { poolBackupGraph, poolOwner, poolRestoreGraph, templateSourceGraph } from './template';
export { itemBlockGraph, podItemBlockGraph } from './itemblock';
export { decodeRefs, encodeRefs } from './record';
export { launcherPods } from './launcher';
export { revisionName } from './instancetype';
export { hasPersistentState, nadName, owningDataVolume } from './volumes';

/**
 * What a graph computation may read from the view; the action layer lists these (in the item's
 * namespace) before calling the graph: pods (launcher pods), PVCs (backend-storage label, owning
 * DataVolume), VMIs (a created VM's VMI uid, a VMIRS's VMIs).
 */
export const GRAPH_NEEDS: readonly GroupResource[] = [R.pods, R.pvcs, R.vmis];
