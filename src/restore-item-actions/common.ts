/**
 * Helpers shared by the restore action cores.
 */
import { loadView } from '../cluster/view';
import type { ClusterReader } from '../cluster/reader';
import { decodeRefs, hasPersistentState, type ClusterView } from '../graph/index';
import { deepClone } from '../kube/json';
import { annotationOf, annotationsOf, describe, type KubeObject, labelsOf, nameOf, namespaceOf, pathGet, setAnnotation, setLabel } from '../kube/object';
import { R, type ObjectRef } from '../kube/resources';
import { ANN, LABEL } from '../kube/annotations';
import type { Logger } from '../logging/logger';
import { PLUGIN_PREFIX, type RestoreAction } from '../plugin/contract';
import { logRewrites, rewriteDataVolumeTemplates, rewriteNetworks } from './namespacemap';

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
    const text = annotationOf(item, ANN.restoreGraph);
    setAnnotation(out, ANN.restoreGraph, undefined);
    const recorded = decodeRefs(text, namespaceOf(item));
    if (recorded) return recorded;
    if (text !== undefined)
        deps.log.warn(`${ANN.restoreGraph} on ${item.kind ?? 'item'} ${namespaceOf(item)}/${nameOf(item)} is not readable; computing the restore graph instead`);
    return compute(await restoreGraphView(deps.cluster, namespaceOf(item), vmiSpec));
}

/**
 * Restores or removes the `velero.kubevirt.io/pvc-uid` label the backup actions set on PVCs and
 * VolumeSnapshots: with the `originalAnnotation` (a value the user had set before the backup), the label
 * gets that value back and the annotation goes; without it, the label goes. Mutates `obj`.
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

/** A restore action for an object that embeds a VM spec (VirtualMachineTemplate, VirtualMachinePool). */
export interface EmbeddedVmActionSpec {
    /** The action's name after the plugin prefix. */
    action: string;
    resource: string;
    /** Where the embedded VM spec is ("spec", "virtualMachine", "spec"). */
    vmSpecPath: readonly string[];
    /** The restore graph computed now, for a backup that carries no recording. */
    graph(item: KubeObject, view: ClusterView): ObjectRef[];
}

/**
 * The skeleton the VirtualMachineTemplate and VirtualMachinePool restore actions share: the embedded
 * VM's dataVolumeTemplates sources and multus networks follow the namespace mapping, as for a VM, and
 * the recorded restore graph comes back first as additional items. No cluster read for the graph
 * (no persistent-state lookup): without a recording, the VMs and their state PVCs are unknown anyway.
 */
export function embeddedVmRestoreAction(spec: EmbeddedVmActionSpec): RestoreAction {
    const prefix = spec.vmSpecPath.join('.');
    return {
        name: `${PLUGIN_PREFIX}/${spec.action}`,
        appliesTo: { includedResources: [spec.resource] },
        async execute({ item, options }, deps) {
            const mapping = options.namespaceMapping;
            const out = deepClone(item);
            const vmSpec = pathGet(out, spec.vmSpecPath);
            logRewrites(deps.log, describe(item), [
                ...rewriteDataVolumeTemplates(vmSpec, mapping, prefix),
                ...rewriteNetworks(pathGet(vmSpec, ['template', 'spec']), mapping, `${prefix}.template.spec`),
            ]);
            const additionalItems = await restoreAdditionalItems(item, out, (view) => spec.graph(item, view), undefined, deps);
            return { item: out, additionalItems, skipRestore: false };
        },
    };
}
