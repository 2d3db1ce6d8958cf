/**
 * Instancetype and preference edges of a VM: the ControllerRevision holding the expanded spec, and the
 * namespaced VirtualMachineInstancetype / VirtualMachinePreference object itself. Cluster-scoped
 * objects (the default kinds) are never emitted: the graph stays inside the VM's namespace.
 */
import { isRecord, namespaceOf, pathGet, stringAt, type KubeObject } from '../kube/object';
import type { GroupResource, ObjectRef } from '../kube/resources';
import { R } from '../kube/resources';
import { push } from './common';

interface Matcher {
    /** spec field of the VM (`instancetype` / `preference`). */
    spec: 'instancetype' | 'preference';
    /** status field holding the revision actually in use. */
    status: 'instancetypeRef' | 'preferenceRef';
    /** Kind (lower case) of the namespaced object; any other kind is cluster-scoped or unknown. */
    namespacedKind: string;
    resource: GroupResource;
}

const INSTANCETYPE: Matcher = {
    spec: 'instancetype',
    status: 'instancetypeRef',
    namespacedKind: 'virtualmachineinstancetype',
    resource: R.instancetypes,
};
const PREFERENCE: Matcher = {
    spec: 'preference',
    status: 'preferenceRef',
    namespacedKind: 'virtualmachinepreference',
    resource: R.preferences,
};

/**
 * Name of the ControllerRevision: status.<ref>.controllerRevisionRef.name (KubeVirt ≥ 1.5), else
 * spec.<matcher>.revisionName (older KubeVirt, and restored VMs whose status was stripped).
 */
export function revisionName(vm: KubeObject, which: 'instancetype' | 'preference'): string {
    const m = which === 'instancetype' ? INSTANCETYPE : PREFERENCE;
    if (!isRecord(pathGet(vm, ['spec', m.spec]))) return '';
    return stringAt(vm, ['status', m.status, 'controllerRevisionRef', 'name']) || stringAt(vm, ['spec', m.spec, 'revisionName']);
}

function matcherRefs(out: ObjectRef[], vm: KubeObject, m: Matcher): void {
    if (!isRecord(pathGet(vm, ['spec', m.spec]))) return;
    const ns = namespaceOf(vm);
    // An empty kind means the cluster-scoped default (VirtualMachineCluster{Instancetype,Preference}).
    if (stringAt(vm, ['spec', m.spec, 'kind']).toLowerCase() === m.namespacedKind) {
        push(out, m.resource, ns, stringAt(vm, ['spec', m.spec, 'name']), `spec.${m.spec}.name`);
    }
    const fromStatus = stringAt(vm, ['status', m.status, 'controllerRevisionRef', 'name']) !== '';
    const field = fromStatus ? `status.${m.status}.controllerRevisionRef.name` : `spec.${m.spec}.revisionName`;
    push(out, R.controllerRevisions, ns, revisionName(vm, m.spec), field);
}

/** Instancetype object + revision, then preference object + revision. */
export function instancetypeRefs(vm: KubeObject): ObjectRef[] {
    const out: ObjectRef[] = [];
    matcherRefs(out, vm, INSTANCETYPE);
    matcherRefs(out, vm, PREFERENCE);
    return out;
}
