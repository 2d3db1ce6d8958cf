/**
 * Helpers shared by the restore action cores.
 */
import { loadView } from '../cluster/view';
import type { ClusterReader } from '../cluster/reader';
import { decodeRefs, hasPersistentState, type ClusterView } from '../graph/index';
import { stringifyLossless } from '../kube/json';
import { annotationsOf, labelsOf, nameOf, namespaceOf, setAnnotation, setLabel, type KubeObject } from '../kube/object';
import { R, type ObjectRef } from '../kube/resources';
import { ANN, LABEL } from '../kube/annotations';
import type { Logger } from '../logging/logger';

/**
 * The view a restore graph needs: the only cluster read of a restore graph is the backend-storage
 * (vTPM / persistent EFI) PVC lookup, so PVCs of the namespace are listed only for a spec that keeps
 * such state; every other VM or VMI costs no read at all.
 */
export async function restoreGraphView(cluster: ClusterReader, namespace: string, vmiSpec: unknown): Promise<ClusterView> {
    return loadView(cluster, namespace, hasPersistentState(vmiSpec) ? [R.pvcs] : []);
}

/**
 * The additional items of a restored VM or VMI: the restore graph recorded at backup time when the item
 * carries one (it knows the generated vTPM/EFI PVC names and DataVolume owners that a restore into an
 * empty namespace cannot see), else the graph computed now (backups taken by other plugins). The
 * recording is removed from `out`, the item to be created.
 */
export async function restoreAdditionalItems(
    item: KubeObject,
    out: KubeObject,
    compute: (view: ClusterView) => ObjectRef[],
    vmiSpec: unknown,
    deps: { cluster: ClusterReader; log: Logger },
): Promise<ObjectRef[]> {
    const text = annotationsOf(item)[ANN.restoreGraph];
    setAnnotation(out, ANN.restoreGraph, undefined);
    const recorded = decodeRefs(text, namespaceOf(item));
    if (recorded) return recorded;
    if (text !== undefined) deps.log.warn(`${ANN.restoreGraph} on ${item.kind ?? 'item'} ${namespaceOf(item)}/${nameOf(item)} is not readable; computing the restore graph instead`);
    return compute(await restoreGraphView(deps.cluster, namespaceOf(item), vmiSpec));
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
