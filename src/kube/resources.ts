/**
 * Group-resources the plugin reads or names, and the reference type the graph emits. An ObjectRef is
 * what Velero calls a ResourceIdentifier: plural lower-case resource, "" for the core group, "" for the
 * namespace of cluster-scoped objects. It is the plugin's one reference type; src/protocol's
 * ResourceIdentifier is the wire form, which src/plugin fills with wireRef().
 */

/** Kinds of the objects the plugin handles. */
export const KIND = {
    vm: 'VirtualMachine',
    vmi: 'VirtualMachineInstance',
    vmirs: 'VirtualMachineInstanceReplicaSet',
    dataVolume: 'DataVolume',
    pvc: 'PersistentVolumeClaim',
    volumeSnapshot: 'VolumeSnapshot',
    vmPool: 'VirtualMachinePool',
    vmTemplate: 'VirtualMachineTemplate',
    vmTemplateRequest: 'VirtualMachineTemplateRequest',
} as const;

export interface GroupResource {
    group: string;
    resource: string;
    /** API version used when the plugin reads this resource from the API server. */
    version: string;
    namespaced: boolean;
}

/** A group and a plural resource, without version or scope: Velero's GroupResource. */
export type GroupResourceName = Pick<GroupResource, 'group' | 'resource'>;

export interface ObjectRef {
    group: string;
    resource: string;
    namespace: string;
    name: string;
    /**
     * Where the reference came from, for log lines about it: the field of the item
     * (`spec.template.spec.volumes[2].secret.secretName`) or the cluster read that produced it. Never sent
     * to Velero (the adapter copies only the four fields above).
     */
    field?: string;
}

function gr(group: string, resource: string, version: string, namespaced = true): GroupResource {
    return { group, resource, version, namespaced };
}

export const R = {
    pods: gr('', 'pods', 'v1'),
    pvcs: gr('', 'persistentvolumeclaims', 'v1'),
    configMaps: gr('', 'configmaps', 'v1'),
    secrets: gr('', 'secrets', 'v1'),
    serviceAccounts: gr('', 'serviceaccounts', 'v1'),
    controllerRevisions: gr('apps', 'controllerrevisions', 'v1'),
    vms: gr('kubevirt.io', 'virtualmachines', 'v1'),
    vmis: gr('kubevirt.io', 'virtualmachineinstances', 'v1'),
    vmirs: gr('kubevirt.io', 'virtualmachineinstancereplicasets', 'v1'),
    dataVolumes: gr('cdi.kubevirt.io', 'datavolumes', 'v1beta1'),
    volumeSnapshots: gr('snapshot.storage.k8s.io', 'volumesnapshots', 'v1'),
    instancetypes: gr('instancetype.kubevirt.io', 'virtualmachineinstancetypes', 'v1beta1'),
    preferences: gr('instancetype.kubevirt.io', 'virtualmachinepreferences', 'v1beta1'),
    clusterInstancetypes: gr('instancetype.kubevirt.io', 'virtualmachineclusterinstancetypes', 'v1beta1', false),
    clusterPreferences: gr('instancetype.kubevirt.io', 'virtualmachineclusterpreferences', 'v1beta1', false),
    networkAttachmentDefinitions: gr('k8s.cni.cncf.io', 'network-attachment-definitions', 'v1'),
    vmPools: gr('pool.kubevirt.io', 'virtualmachinepools', 'v1beta1'),
    vmTemplates: gr('template.kubevirt.io', 'virtualmachinetemplates', 'v1beta1'),
    vmTemplateRequests: gr('template.kubevirt.io', 'virtualmachinetemplaterequests', 'v1beta1'),
} as const;

export function ref(resource: GroupResource, namespace: string, name: string, field?: string): ObjectRef {
    const out: ObjectRef = { group: resource.group, resource: resource.resource, namespace: resource.namespaced ? namespace : '', name };
    if (field !== undefined) out.field = field;
    return out;
}

/** "persistentvolumeclaims" or "datavolumes.cdi.kubevirt.io": Velero's GroupResource.String(). */
export function groupResourceString(resource: GroupResourceName): string {
    return resource.group ? `${resource.resource}.${resource.group}` : resource.resource;
}

/** The inverse of groupResourceString: the resource up to the first '.', the group after it. */
export function parseGroupResource(text: string): GroupResourceName {
    const dot = text.indexOf('.');
    return dot < 0 ? { group: '', resource: text } : { group: text.slice(dot + 1), resource: text.slice(0, dot) };
}

/** The reference as Velero receives it: the four fields of its ResourceIdentifier, without `field`. */
export function wireRef(r: ObjectRef): ObjectRef {
    return { group: r.group, resource: r.resource, namespace: r.namespace, name: r.name };
}

export function refKey(r: ObjectRef): string {
    return `${groupResourceString(r)}/${r.namespace}/${r.name}`;
}

/** Removes duplicates, keeping the first occurrence, so the order stays deterministic. */
export function uniqueRefs(refs: readonly ObjectRef[]): ObjectRef[] {
    const seen = new Set<string>();
    const out: ObjectRef[] = [];
    for (const r of refs) {
        if (!r.name) continue;
        const k = refKey(r);
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(r);
    }
    return out;
}
