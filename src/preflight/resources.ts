/**
 * Resources only the preflight reads (the actions never do), and the mapping from the references the
 * graph emits back to readable resources.
 */
import { R, type GroupResource, type GroupResourceName } from '../kube/resources';

export const PR = {
    namespaces: { group: '', resource: 'namespaces', version: 'v1', namespaced: false },
    storageClasses: { group: 'storage.k8s.io', resource: 'storageclasses', version: 'v1', namespaced: false },
    volumeSnapshotClasses: { group: 'snapshot.storage.k8s.io', resource: 'volumesnapshotclasses', version: 'v1', namespaced: false },
    dataSources: { group: 'cdi.kubevirt.io', resource: 'datasources', version: 'v1beta1', namespaced: true },
} as const satisfies Record<string, GroupResource>;

const KNOWN: ReadonlyMap<string, GroupResource> = new Map([...Object.values(R), ...Object.values(PR)].map((r) => [`${r.resource}.${r.group}`, r] as const));

/** The readable resource of a reference; an unknown one is assumed namespaced when the ref has a namespace. */
export function resourceOf(ref: GroupResourceName & { namespace?: string }): GroupResource {
    return KNOWN.get(`${ref.resource}.${ref.group}`) ?? { group: ref.group, resource: ref.resource, version: 'v1', namespaced: (ref.namespace ?? '') !== '' };
}
