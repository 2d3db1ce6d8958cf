/**
 * Graphs of the objects that embed a VM: a VirtualMachineTemplate (template.kubevirt.io, the VM in
 * spec.virtualMachine) and a VirtualMachinePool (pool.kubevirt.io, the VM in
 * spec.virtualMachineTemplate). The embedded VM is read by path only, whatever its apiVersion says (a
 * template's VM is a raw object that may even lack apiVersion), so every version of both APIs reads
 * the same way.
 */
import { apiGroup, isRecord, nameOf, namespaceOf, ownerReferencesOf, pathGet, stringAt, type KubeObject, type OwnerReference } from '../kube/object';
import { KIND, R, uniqueRefs, type ObjectRef } from '../kube/resources';
import { byName, indexedRecords, push, records } from './common';
import { vmRestoreGraph } from './restore';
import type { ClusterView } from './view';
import { owningDataVolume, vmiSpecGraph, vmiSpecStorage } from './volumes';

/** A name a VM created from the template would use as is: not empty and without a ${PARAMETER}. */
function concrete(name: string): boolean {
    return name !== '' && !name.includes('${');
}

/** The names of spec.dataVolumeTemplates[] of a VM spec (DataVolumes each new VM creates for itself). */
function templatedNames(vmSpec: unknown): Set<string> {
    return new Set(
        records(vmSpec, ['dataVolumeTemplates'])
            .map((t) => stringAt(t, ['metadata', 'name']))
            .filter(Boolean),
    );
}

/**
 * VirtualMachineTemplate: the storage in its own namespace that VMs created from it start from, in
 * order:
 *  - each dataVolumeTemplate's source: `source.pvc` → the DataVolume of that name or owning that PVC
 *    (when the view knows one) and the PVC; `source.snapshot` → the VolumeSnapshot. A source naming
 *    another namespace is not followed; one without a namespace is the template's (the usual case is
 *    the DataVolumes a VirtualMachineTemplateRequest cloned next to the template);
 *  - volumes of spec.template.spec that are not dataVolumeTemplates: shared DataVolumes and PVCs.
 * Names holding a ${PARAMETER} are resolved per VM and are skipped. A DataSource `sourceRef` is not
 * followed (DataSources are golden-image catalogue entries, usually in another namespace).
 */
export function templateSourceGraph(template: KubeObject, view: ClusterView): ObjectRef[] {
    const ns = namespaceOf(template);
    const vmSpec = pathGet(template, ['spec', 'virtualMachine', 'spec']);
    const out: ObjectRef[] = [];
    for (const [dvt, i] of indexedRecords(vmSpec, ['dataVolumeTemplates'])) {
        const at = `spec.virtualMachine.spec.dataVolumeTemplates[${i}].spec.source`;
        const pvcNs = stringAt(dvt, ['spec', 'source', 'pvc', 'namespace']) || ns;
        const pvcName = stringAt(dvt, ['spec', 'source', 'pvc', 'name']);
        if (pvcNs === ns && concrete(pvcName)) {
            const pvc = view.get(R.pvcs, ns, pvcName);
            const dv = view.get(R.dataVolumes, ns, pvcName) ? pvcName : pvc ? owningDataVolume(pvc) : undefined;
            if (dv) push(out, R.dataVolumes, ns, dv, `${at}.pvc.name`);
            push(out, R.pvcs, ns, pvcName, `${at}.pvc.name`);
        }
        const snapNs = stringAt(dvt, ['spec', 'source', 'snapshot', 'namespace']) || ns;
        const snapName = stringAt(dvt, ['spec', 'source', 'snapshot', 'name']);
        if (snapNs === ns && concrete(snapName)) push(out, R.volumeSnapshots, ns, snapName, `${at}.snapshot.name`);
    }
    const templated = templatedNames(vmSpec);
    const shared = records(vmSpec, ['template', 'spec', 'volumes']).filter((v) => {
        const dv = stringAt(v, ['dataVolume', 'name']);
        const claim = stringAt(v, ['persistentVolumeClaim', 'claimName']);
        const name = dv || claim;
        return name !== '' && concrete(name) && !(dv !== '' && templated.has(dv));
    });
    out.push(...vmiSpecStorage({ volumes: shared }, { namespace: ns, view, field: 'spec.virtualMachine.spec.template.spec' }));
    return uniqueRefs(out);
}

/** The controller ownerReference of a VM that is a VirtualMachinePool (kind and API group), if any. */
export function poolOwner(vm: KubeObject): OwnerReference | undefined {
    return ownerReferencesOf(vm).find(
        (o) => o.kind === KIND.vmPool && apiGroup(o.apiVersion) === R.vmPools.group && o.controller === true && typeof o.name === 'string' && o.name !== '',
    );
}

/** The VMs of a pool as seen in the view: controlled by it (name, and uid when both are known), sorted by name. */
export function poolVms(pool: KubeObject, view: ClusterView): KubeObject[] {
    const uid = pool.metadata?.uid;
    return view
        .list(R.vms, namespaceOf(pool))
        .filter((vm) => {
            const owner = poolOwner(vm);
            return owner !== undefined && owner.name === nameOf(pool) && (!uid || !owner.uid || owner.uid === uid);
        })
        .sort(byName);
}

/**
 * The graph of the VM template inside a pool: what future VMs of the pool refer to. Volumes naming a
 * dataVolumeTemplate are left out: each VM gets its own DataVolume, named with its index.
 */
function poolTemplateGraph(pool: KubeObject, view: ClusterView): ObjectRef[] {
    const vmSpec = pathGet(pool, ['spec', 'virtualMachineTemplate', 'spec']);
    const spec = pathGet(vmSpec, ['template', 'spec']);
    if (!isRecord(spec)) return [];
    const templated = templatedNames(vmSpec);
    const volumes = records(spec, ['volumes']).filter((v) => !templated.has(stringAt(v, ['dataVolume', 'name'])));
    return vmiSpecGraph({ ...spec, volumes }, { namespace: namespaceOf(pool), view, field: 'spec.virtualMachineTemplate.spec.template.spec' });
}

/**
 * VirtualMachinePool backup graph: its VMs (Velero then runs the VM backup action on each, which brings
 * their DataVolumes, PVCs, VMIs and the rest), then what the pool's VM template refers to.
 */
export function poolBackupGraph(pool: KubeObject, view: ClusterView): ObjectRef[] {
    const out: ObjectRef[] = [];
    for (const vm of poolVms(pool, view)) push(out, R.vms, namespaceOf(pool), nameOf(vm), 'VMs the pool controls');
    out.push(...poolTemplateGraph(pool, view));
    return uniqueRefs(out);
}

/**
 * VirtualMachinePool restore graph: never its VMs (the pool recreates them, see
 * docs/decisions/009-vm-pools.md), but everything they need, so that it exists before the pool starts
 * creating VMs: each VM's restore graph (DataVolumes, PVCs, secrets, ...), then the template's graph.
 */
export function poolRestoreGraph(pool: KubeObject, view: ClusterView): ObjectRef[] {
    const out: ObjectRef[] = [];
    for (const vm of poolVms(pool, view)) out.push(...vmRestoreGraph(vm, view));
    out.push(...poolTemplateGraph(pool, view));
    return uniqueRefs(out);
}
