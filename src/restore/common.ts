/**
 * Helpers shared by the restore action cores.
 */
import { loadView } from '../cluster/view';
import type { ClusterReader } from '../cluster/reader';
import { hasPersistentState, type ClusterView } from '../graph/index';
import { stringifyLossless } from '../kube/json';
import { annotationsOf, labelsOf, setAnnotation, setLabel, type KubeObject } from '../kube/object';
import { R } from '../kube/resources';
import { LABEL } from '../kube/annotations';

/**
 * The view a restore graph needs: the only cluster read of a restore graph is the backend-storage
 * (vTPM / persistent EFI) PVC lookup, so PVCs of the namespace are listed only for a spec that keeps
 * such state; every other VM or VMI costs no read at all.
 */
export async function restoreGraphView(cluster: ClusterReader, namespace: string, vmiSpec: unknown): Promise<ClusterView> {
    return loadView(cluster, namespace, hasPersistentState(vmiSpec) ? [R.pvcs] : []);
}

/** True when `copy` differs from `original` (both lossless JSON values). */
export function changed(original: KubeObject, copy: KubeObject): boolean {
    return stringifyLossless(original) !== stringifyLossless(copy);
}

/**
 * Restores or removes the `velero.kubevirt.io/pvc-uid` label the backup actions set (§3.8): with the
 * `originalAnnotation` (a value the user had set before the backup), the label gets that value back
 * and the annotation goes; without it, the label goes. Mutates `obj`.
 */
export function restorePvcUidLabel(obj: KubeObject, originalAnnotation: string): void {
    if (!(LABEL.pvcUid in labelsOf(obj))) return;
    const annotations = annotationsOf(obj);
    if (originalAnnotation in annotations) {
        setLabel(obj, LABEL.pvcUid, String(annotations[originalAnnotation]));
        setAnnotation(obj, originalAnnotation, undefined);
    } else {
        setLabel(obj, LABEL.pvcUid, undefined);
    }
}
