/**
 * ItemBlock membership: the objects that must be backed up in the same ItemBlock as a VM, VMI or VMIRS
 * so that Velero runs the launcher pods' freeze/thaw hooks around the volume snapshots. Only the VMI,
 * launcher pods, DataVolumes and PVCs; secrets, config maps and the like need no such grouping.
 */
import { nameOf, namespaceOf, pathGet, type KubeObject } from '../kube/object';
import type { ObjectRef } from '../kube/resources';
import { R, uniqueRefs } from '../kube/resources';
import { KIND, push } from './common';
import { podRefs, replicaSetVmis, vmCreated } from './backup';
import type { ClusterView } from './view';
import { vmiSpecStorage } from './volumes';

function vmiBlock(out: ObjectRef[], vmi: KubeObject, view: ClusterView): void {
    podRefs(out, vmi, view);
    out.push(...vmiSpecStorage(pathGet(vmi, ['spec']), { namespace: namespaceOf(vmi), view, backendOwner: nameOf(vmi) }));
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
            if (vmCreated(obj)) {
                push(out, R.vmis, ns, nameOf(obj));
                const vmi = view.get(R.vmis, ns, nameOf(obj));
                if (vmi) podRefs(out, vmi, view);
            }
            out.push(...vmiSpecStorage(pathGet(obj, ['spec', 'template', 'spec']), { namespace: ns, view, backendOwner: nameOf(obj) }));
            break;
        }
        case KIND.vmi:
            vmiBlock(out, obj, view);
            break;
        case KIND.vmirs:
            for (const vmi of replicaSetVmis(obj, view)) {
                push(out, R.vmis, ns, nameOf(vmi));
                vmiBlock(out, vmi, view);
            }
            break;
        default:
            break;
    }
    return uniqueRefs(out);
}
