/**
 * Restore graphs: what Velero must restore before a VM or VMI. Never the VMI or launcher pods (KubeVirt
 * recreates them). The backend PVC is taken from the view when a labelled one is there, else by its
 * legacy name.
 */
import { nameOf, namespaceOf, pathGet, type KubeObject } from '../kube/object';
import type { ObjectRef } from '../kube/resources';
import { uniqueRefs } from '../kube/resources';
import { instancetypeRefs } from './instancetype';
import type { ClusterView } from './view';
import { vmiSpecGraph } from './volumes';

/** VM: instancetype and preference (objects if namespaced, ControllerRevisions), then the template's graph. */
export function vmRestoreGraph(vm: KubeObject, view: ClusterView): ObjectRef[] {
    const out = instancetypeRefs(vm);
    out.push(...vmiSpecGraph(pathGet(vm, ['spec', 'template', 'spec']), { namespace: namespaceOf(vm), view, field: 'spec.template.spec', backendOwner: nameOf(vm) }));
    return uniqueRefs(out);
}

/** VMI: the graph of its spec only. */
export function vmiRestoreGraph(vmi: KubeObject, view: ClusterView): ObjectRef[] {
    return uniqueRefs(vmiSpecGraph(pathGet(vmi, ['spec']), { namespace: namespaceOf(vmi), view, field: 'spec', backendOwner: nameOf(vmi) }));
}
