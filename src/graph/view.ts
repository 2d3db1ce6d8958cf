/**
 * The read-only, synchronous view of the cluster that graph functions consult. The action layer fills
 * it before calling the graph (src/cluster/view.ts loadView; tests use test/support/static-cluster.ts viewOf),
 * so the graph itself does no I/O.
 */
import type { KubeObject } from '../kube/object';
import type { GroupResource } from '../kube/resources';

/** A synchronous, already-fetched view of one namespace (see src/cluster/view.ts). */
export interface ClusterView {
    /** Every object of the resource in the namespace ([] when not fetched or none). */
    list(resource: GroupResource, namespace: string): readonly KubeObject[];
    get(resource: GroupResource, namespace: string, name: string): KubeObject | undefined;
}
