/**
 * Builds the synchronous ClusterView the graph functions read: one LIST per needed resource of the
 * item's namespace, through the process-wide ClusterReader (whose caches make repeated loads for other
 * items of the same namespace free).
 */
import type { ClusterView } from '../graph/view';
import { nameOf, type KubeObject } from '../kube/object';
import type { GroupResource } from '../kube/resources';
import type { ClusterReader } from './reader';

function key(group: string, resource: string): string {
    return `${resource}.${group}`;
}

/**
 * Name indexes of lists, kept per list instance: the process-wide reader hands out the same array for a
 * cached list, so the many views built over one namespace during a backup share one index.
 */
const indexes = new WeakMap<readonly KubeObject[], Map<string, KubeObject>>();

function indexOf(list: readonly KubeObject[]): Map<string, KubeObject> {
    let index = indexes.get(list);
    if (!index) {
        index = new Map();
        for (const obj of list) if (!index.has(nameOf(obj))) index.set(nameOf(obj), obj);
        indexes.set(list, index);
    }
    return index;
}

/** A view over lists already fetched, keyed by group-resource then namespace ('' for cluster-scoped). */
class MemoryView implements ClusterView {
    private readonly lists = new Map<string, Map<string, KubeObject[]>>();

    add(resource: GroupResource, namespace: string, objects: readonly KubeObject[]): void {
        const k = key(resource.group, resource.resource);
        let byNs = this.lists.get(k);
        if (!byNs) {
            byNs = new Map();
            this.lists.set(k, byNs);
        }
        const current = byNs.get(namespace);
        // The first list is kept as given (no copy, and its name index is shared); later ones are merged.
        byNs.set(namespace, current === undefined ? (objects as KubeObject[]) : [...current, ...objects]);
    }

    list(resource: GroupResource, namespace: string): readonly KubeObject[] {
        return this.lists.get(key(resource.group, resource.resource))?.get(resource.namespaced ? namespace : '') ?? [];
    }

    get(resource: GroupResource, namespace: string, name: string): KubeObject | undefined {
        return indexOf(this.list(resource, namespace)).get(name);
    }
}

/**
 * Lists each needed resource once in `namespace` and returns the in-memory view. Resources not in
 * `needs` read as empty. Errors of the reader (Forbidden, Cluster, NoCluster) propagate.
 */
export async function loadView(cluster: ClusterReader, namespace: string, needs: readonly GroupResource[]): Promise<ClusterView> {
    const view = new MemoryView();
    const seen = new Set<string>();
    const unique = needs.filter((r) => {
        const k = key(r.group, r.resource);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
    });
    const lists = await Promise.all(unique.map((r) => cluster.list(r, r.namespaced ? namespace : '')));
    unique.forEach((r, i) => view.add(r, r.namespaced ? namespace : '', lists[i] ?? []));
    return view;
}

/**
 * One object by name, read through the namespace's list: the first call lists the namespace (once per
 * process), later ones are answered from that list; a name missing from it costs one GET (it may have
 * been created since). Use it where many items of a namespace each need one object of another resource.
 */
export async function getThroughList(cluster: ClusterReader, resource: GroupResource, namespace: string, name: string): Promise<KubeObject | undefined> {
    await cluster.list(resource, resource.namespaced ? namespace : '');
    return cluster.get(resource, namespace, name);
}
