/**
 * ItemBlock membership: the objects that must be backed up in the same ItemBlock as a VM, VMI or VMIRS
 * so that Velero runs the launcher pods' freeze/thaw hooks around the volume snapshots. Only the VMI,
 * launcher pods, DataVolumes and PVCs; secrets, config maps and the like need no such grouping.
 */
import { ANN, LABEL } from '../kube/annotations';
import { annotationOf, type KubeObject, labelOf, nameOf, namespaceOf, ownerReferencesOf, pathGet, vmOwner } from '../kube/object';
import type { ObjectRef } from '../kube/resources';
import { R, uniqueRefs } from '../kube/resources';
import { KIND, push } from './common';
import { podRefs, replicaSetVmis, vmCreated } from './backup';
import { podFinished } from './launcher';
import type { ClusterView } from './view';
import { vmiSpecStorage } from './volumes';

function vmiBlock(out: ObjectRef[], vmi: KubeObject, view: ClusterView): void {
    podRefs(out, vmi, view);
    out.push(...vmiSpecStorage(pathGet(vmi, ['spec']), { namespace: namespaceOf(vmi), view, field: `spec of VMI ${nameOf(vmi)}`, backendOwner: nameOf(vmi) }));
}

/**
 * VM: its VMI (if created) and launcher pods, the DataVolumes and PVCs of its volumes, the TPM/EFI PVC.
 * VMI: launcher pods, DataVolumes, PVCs, TPM/EFI PVC. VMIRS: each VMI with its pods and storage.
 * Any other kind: nothing.
 */
export function itemBlockGraph(obj: KubeObject, view: ClusterView): ObjectRef[] {
    const ns = namespaceOf(obj);
    const out: ObjectRef[] = [];
    switch (obj.kind) {
        case KIND.vm: {
            const vmi = vmCreated(obj) ? view.get(R.vmis, ns, nameOf(obj)) : undefined;
            if (vmCreated(obj)) push(out, R.vmis, ns, nameOf(obj), 'metadata.name (status.created)');
            if (vmi) podRefs(out, vmi, view);
            const template = { namespace: ns, view, field: 'spec.template.spec', backendOwner: nameOf(obj) };
            out.push(...vmiSpecStorage(pathGet(obj, ['spec', 'template', 'spec']), template));
            // Volumes hotplugged without being persisted to the template exist only in the VMI's spec.
            if (vmi) out.push(...vmiSpecStorage(pathGet(vmi, ['spec']), { ...template, field: `spec of VMI ${nameOf(vmi)}` }));
            break;
        }
        case KIND.vmi:
            vmiBlock(out, obj, view);
            break;
        case KIND.vmirs:
            for (const vmi of replicaSetVmis(obj, view)) {
                push(out, R.vmis, ns, nameOf(vmi), `VMIs labelled ${LABEL.vmReplicaSet}=metadata.name`);
                vmiBlock(out, vmi, view);
            }
            break;
        default:
            break;
    }
    return uniqueRefs(out);
}

/** The VMI a launcher pod runs: annotation kubevirt.io/domain, confirmed by label kubevirt.io/created-by when both are known. */
function vmiOfLauncher(pod: KubeObject, view: ClusterView): KubeObject | undefined {
    const name = annotationOf(pod, ANN.domain);
    if (!name) return undefined;
    const vmi = view.get(R.vmis, namespaceOf(pod), name);
    const uid = vmi?.metadata?.uid;
    const createdBy = labelOf(pod, LABEL.createdBy);
    if (vmi && uid && createdBy && uid !== createdBy) return undefined;
    return vmi;
}

/**
 * A KubeVirt pod's ItemBlock. In a namespace backup Velero collects pods before the kubevirt.io and
 * cdi.kubevirt.io resources, so a launcher pod, not its VM, opens the block that its freeze/thaw hooks
 * wrap. For a launcher pod (label kubevirt.io=virt-launcher) this returns its VM (if any), its VMI and
 * the VMI's block (all launcher pods, DataVolumes, PVCs, TPM/EFI PVC, hotplugged volumes included); for a
 * hotplug attachment pod (kubevirt.io=hotplug-disk), its launcher pod and the same. A finished pod, or
 * anything else: nothing.
 */
export function podItemBlockGraph(pod: KubeObject, view: ClusterView): ObjectRef[] {
    const ns = namespaceOf(pod);
    const role = labelOf(pod, LABEL.kubevirt);
    const out: ObjectRef[] = [];
    // A finished pod (the source of a completed migration) is no longer part of the VM: no hooks run there.
    if (podFinished(pod)) return [];
    let launcher: KubeObject | undefined = pod;
    if (role === 'hotplug-disk') {
        const owner = ownerReferencesOf(pod).find((o) => o.kind === 'Pod' && o.name);
        launcher = owner?.name ? view.get(R.pods, ns, owner.name) : undefined;
        if (launcher) push(out, R.pods, ns, nameOf(launcher), 'metadata.ownerReferences (Pod)');
    } else if (role !== 'virt-launcher') {
        return [];
    }
    const vmi = launcher ? vmiOfLauncher(launcher, view) : undefined;
    if (!vmi) return uniqueRefs(out);
    const vm = vmOwner(vmi)?.name;
    if (vm) push(out, R.vms, ns, vm, `metadata.ownerReferences (VirtualMachine) of VMI ${nameOf(vmi)}`);
    push(out, R.vmis, ns, nameOf(vmi), `metadata.annotations[${ANN.domain}]`);
    podRefs(out, vmi, view);
    out.push(...vmiSpecStorage(pathGet(vmi, ['spec']), { namespace: ns, view, field: `spec of VMI ${nameOf(vmi)}`, backendOwner: vm ?? nameOf(vmi) }));
    return uniqueRefs(out.filter((r) => !(r.resource === 'pods' && r.name === nameOf(pod))));
}
