/**
 * The read-only view of the cluster that actions receive. The real implementation (src/cluster/kube.ts)
 * talks to the API server (configuration by our own kubeconfig loader) with per-process caches; tests pass
 * StaticCluster. Contract:
 *  - an absent object, or a custom resource that is not installed, is a value (undefined, []), never an
 *    exception (a 404 that means a wrong URL is an error: decision 003);
 *  - list() returns every object of one resource in one namespace and costs at most one LIST per
 *    (resource, namespace) per process;
 *  - get() is served from a cached list when that list was already fetched, else by one GET (cached);
 *  - failures throw PluginError with reason Forbidden (naming verb, resource, namespace), Cluster or
 *    NoCluster.
 */
import type { KubeObject } from '../kube/object';
import type { GroupResource } from '../kube/resources';

export interface ClusterReader {
    get(resource: GroupResource, namespace: string, name: string): Promise<KubeObject | undefined>;
    list(resource: GroupResource, namespace: string): Promise<readonly KubeObject[]>;
}

function matches(resource: GroupResource, obj: KubeObject): boolean {
    const apiVersion = obj.apiVersion ?? '';
    const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
    return group === resource.group && kindToResource(obj.kind ?? '') === resource.resource;
}

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

/** An in-memory cluster for unit tests and fixtures. */
export class StaticCluster implements ClusterReader {
    constructor(private readonly objects: readonly KubeObject[] = []) {}

    async get(resource: GroupResource, namespace: string, name: string): Promise<KubeObject | undefined> {
        return this.objects.find(
            (o) => matches(resource, o) && (o.metadata?.namespace ?? '') === (resource.namespaced ? namespace : '') && o.metadata?.name === name,
        );
    }

    async list(resource: GroupResource, namespace: string): Promise<readonly KubeObject[]> {
        // namespace '' lists a namespaced resource across all namespaces.
        const all = resource.namespaced && namespace === '';
        return this.objects.filter(
            (o) => matches(resource, o) && (all || (o.metadata?.namespace ?? '') === (resource.namespaced ? namespace : '')),
        );
    }
}
