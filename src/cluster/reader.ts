/**
 * The read-only view of the cluster that actions receive. The real implementation (src/cluster/kube.ts)
 * talks to the API server (configuration by our own kubeconfig loader) with per-process caches; unit tests
 * pass an in-memory one (test/support/static-cluster.ts). Contract:
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
