/**
 * In-memory test doubles of the cluster: StaticCluster (a ClusterReader over objects in memory) and
 * viewOf (a ClusterView over objects in memory). They stand in for src/cluster/kube.ts and for
 * src/cluster/view.ts loadView in unit tests and fixtures. The group-resource of an object comes from its
 * apiVersion (group) and kind (kindToResource); its namespace from metadata.namespace.
 */
import type { ClusterReader } from '../../src/cluster/reader';
import type { ClusterView } from '../../src/graph/view';
import { apiGroup, nameOf, namespaceOf, type KubeObject } from '../../src/kube/object';
import type { GroupResource } from '../../src/kube/resources';

/** Lower-case plural of a kind, for the kinds the plugin deals with. */
export function kindToResource(kind: string): string {
    const special: Record<string, string> = {
        NetworkAttachmentDefinition: 'network-attachment-definitions',
        PersistentVolumeClaim: 'persistentvolumeclaims',
    };
    if (special[kind]) return special[kind];
    const lower = kind.toLowerCase();
    if (lower.endsWith('s')) return `${lower}es`;
    if (lower.endsWith('y')) return `${lower.slice(0, -1)}ies`;
    return `${lower}s`;
}

function matches(resource: Pick<GroupResource, 'group' | 'resource'>, obj: KubeObject): boolean {
    return apiGroup(obj.apiVersion) === resource.group && kindToResource(obj.kind ?? '') === resource.resource;
}

/** An in-memory cluster for unit tests and fixtures. */
export class StaticCluster implements ClusterReader {
    constructor(private readonly objects: readonly KubeObject[] = []) {}

    async get(resource: GroupResource, namespace: string, name: string): Promise<KubeObject | undefined> {
        return this.objects.find((o) => matches(resource, o) && (o.metadata?.namespace ?? '') === (resource.namespaced ? namespace : '') && o.metadata?.name === name);
    }

    async list(resource: GroupResource, namespace: string): Promise<readonly KubeObject[]> {
        // namespace '' lists a namespaced resource across all namespaces.
        const all = resource.namespaced && namespace === '';
        return this.objects.filter((o) => matches(resource, o) && (all || (o.metadata?.namespace ?? '') === (resource.namespaced ? namespace : '')));
    }
}

/**
 * A view over the given objects. A namespaced object without a namespace is visible under namespace '';
 * get() returns the first object of that name, as loadView's view does.
 */
export function viewOf(objects: readonly KubeObject[]): ClusterView {
    const list = (resource: GroupResource, namespace: string): readonly KubeObject[] => {
        const ns = resource.namespaced ? namespace : '';
        return objects.filter((o) => matches(resource, o) && namespaceOf(o) === ns);
    };
    return {
        list,
        get: (resource, namespace, name) => list(resource, namespace).find((o) => nameOf(o) === name),
    };
}
