/** Backup graphs: what must be in the backup together with a VM, VMI, VMIRS, DataVolume or PVC. */
import { LABEL } from '../kube/annotations';
import { nameOf, namespaceOf, pathGet, stringAt, type KubeObject } from '../kube/object';
import type { ObjectRef } from '../kube/resources';
import { R, uniqueRefs } from '../kube/resources';
import { push, withLabel } from './common';
import { instancetypeRefs } from './instancetype';
import { launcherPods } from './launcher';
import type { ClusterView } from './view';
import { owningDataVolume, vmiSpecGraph } from './volumes';

/** Whether the VM has a VMI (status.created). */
export function vmCreated(vm: KubeObject): boolean {
    return pathGet(vm, ['status', 'created']) === true;
}

/** The VMIs of a VMIRS (label kubevirt.io/vmReplicaSet=<name>), sorted by name. */
export function replicaSetVmis(vmirs: KubeObject, view: ClusterView): KubeObject[] {
    return withLabel(view.list(R.vmis, namespaceOf(vmirs)), LABEL.vmReplicaSet, nameOf(vmirs));
}

/** Field text of launcher pod refs: they come from a LIST, not from the item. */
export const LAUNCHER_POD_ORIGIN = 'launcher pods of the VMI (label kubevirt.io/created-by)';

export function podRefs(out: ObjectRef[], vmi: KubeObject, view: ClusterView): void {
    for (const pod of launcherPods(vmi, view)) push(out, R.pods, namespaceOf(vmi), nameOf(pod), LAUNCHER_POD_ORIGIN);
}

/**
 * VM: instancetype (object if namespaced, ControllerRevision), preference (likewise); when created, the
 * VMI and its launcher pods; then the graph of spec.template.spec.
 */
export function vmBackupGraph(vm: KubeObject, view: ClusterView): ObjectRef[] {
    const ns = namespaceOf(vm);
    const out = instancetypeRefs(vm);
    if (vmCreated(vm)) {
        push(out, R.vmis, ns, nameOf(vm), 'metadata.name (status.created)');
        const vmi = view.get(R.vmis, ns, nameOf(vm));
        if (vmi) podRefs(out, vmi, view);
    }
    out.push(...vmiSpecGraph(pathGet(vm, ['spec', 'template', 'spec']), { namespace: ns, view, field: 'spec.template.spec', backendOwner: nameOf(vm) }));
    return uniqueRefs(out);
}

/** VMI: its launcher pods, then the graph of its spec. No edge to an owning VM. */
export function vmiBackupGraph(vmi: KubeObject, view: ClusterView): ObjectRef[] {
    const out: ObjectRef[] = [];
    podRefs(out, vmi, view);
    out.push(...vmiSpecGraph(pathGet(vmi, ['spec']), { namespace: namespaceOf(vmi), view, field: 'spec', backendOwner: nameOf(vmi) }));
    return uniqueRefs(out);
}

/**
 * VMIRS: for each of its VMIs (by name) the VMI, its launcher pods and its spec graph; then what the
 * template refers to, so that configuration used by future replicas travels too.
 */
export function vmirsBackupGraph(vmirs: KubeObject, view: ClusterView): ObjectRef[] {
    const ns = namespaceOf(vmirs);
    const out: ObjectRef[] = [];
    for (const vmi of replicaSetVmis(vmirs, view)) {
        const origin = `VMI ${nameOf(vmi)} of the replica set`;
        push(out, R.vmis, ns, nameOf(vmi), `VMIs labelled ${LABEL.vmReplicaSet}=metadata.name`);
        podRefs(out, vmi, view);
        const graph = vmiSpecGraph(pathGet(vmi, ['spec']), { namespace: ns, view, field: `spec (of ${origin})`, backendOwner: nameOf(vmi) });
        out.push(...graph);
    }
    out.push(...vmiSpecGraph(pathGet(vmirs, ['spec', 'template', 'spec']), { namespace: ns, view, field: 'spec.template.spec' }));
    return uniqueRefs(out);
}

/** DataVolume: its PVC (same name), only when the DataVolume item is Succeeded. */
export function dataVolumeBackupGraph(dv: KubeObject): ObjectRef[] {
    const out: ObjectRef[] = [];
    if (stringAt(dv, ['status', 'phase']) === 'Succeeded') push(out, R.pvcs, namespaceOf(dv), nameOf(dv), 'metadata.name');
    return out;
}

/** PVC: the DataVolume that owns it (ownerReference kind DataVolume, group cdi.kubevirt.io), if any. */
export function pvcBackupGraph(pvc: KubeObject): ObjectRef[] {
    const out: ObjectRef[] = [];
    push(out, R.dataVolumes, namespaceOf(pvc), owningDataVolume(pvc) ?? '', 'metadata.ownerReferences (DataVolume)');
    return out;
}
