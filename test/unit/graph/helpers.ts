/** Helpers for the graph tests: scenario files, item lookup, and refs printed as Velero keys. */
import { viewOf } from '../../support/static-cluster';
import type { ClusterView } from '../../../src/graph';
import { nameOf, type KubeObject } from '../../../src/kube/object';
import { refKey, type ObjectRef } from '../../../src/kube/resources';
import { loadFixtures } from '../fixtures';

export interface Scenario {
    objects: KubeObject[];
    view: ClusterView;
    /** The object of this kind and name ('Kind/name'); throws when absent so a typo cannot pass silently. */
    item(kindSlashName: string): KubeObject;
}

const cache = new Map<string, KubeObject[]>();

export function scenario(file: string): Scenario {
    let objects = cache.get(file);
    if (!objects) {
        objects = loadFixtures(`graph/${file}`);
        cache.set(file, objects);
    }
    const all = objects;
    return {
        objects: all,
        view: viewOf(all),
        item(kindSlashName: string): KubeObject {
            const slash = kindSlashName.indexOf('/');
            const kind = kindSlashName.slice(0, slash);
            const name = kindSlashName.slice(slash + 1);
            const found = all.find((o) => o.kind === kind && nameOf(o) === name);
            if (!found) throw new Error(`${file}: no ${kindSlashName}`);
            return found;
        },
    };
}

/** "persistentvolumeclaims/ns/name", "datavolumes.cdi.kubevirt.io/ns/name", ... in output order. */
export function keys(refs: readonly ObjectRef[]): string[] {
    return refs.map(refKey);
}

/** An empty view: nothing fetched. */
export const EMPTY_VIEW: ClusterView = viewOf([]);
