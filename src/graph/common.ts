/** Small readers shared by the graph modules. Everything here tolerates malformed objects. */
import { isRecord, type KubeObject, labelOf, nameOf, pathGet } from '../kube/object';
import type { GroupResource, ObjectRef } from '../kube/resources';
import { ref } from '../kube/resources';

export { KIND } from '../kube/resources';

/** The records of an array field; non-array values and non-record entries are ignored. */
export function records(value: unknown, path: readonly (string | number)[]): Record<string, unknown>[] {
    const found = pathGet(value, path);
    return Array.isArray(found) ? found.filter(isRecord) : [];
}

export function isTrue(value: unknown, path: readonly (string | number)[]): boolean {
    return pathGet(value, path) === true;
}

/**
 * Appends a reference in the source object's namespace; empty names are dropped. `field` says where the
 * name came from (a field path of the item, or the cluster read), for the log line that reports an
 * invalid reference (src/kube/refcheck.ts).
 */
export function push(out: ObjectRef[], resource: GroupResource, namespace: string, name: string, field: string): void {
    if (name) out.push(ref(resource, namespace, name, field));
}

/** The records of an array field with their index; non-array values and non-record entries are skipped. */
export function indexedRecords(value: unknown, path: readonly (string | number)[]): [Record<string, unknown>, number][] {
    const found = pathGet(value, path);
    if (!Array.isArray(found)) return [];
    const out: [Record<string, unknown>, number][] = [];
    found.forEach((entry: unknown, index) => {
        if (isRecord(entry)) out.push([entry, index]);
    });
    return out;
}

export function byName(a: KubeObject, b: KubeObject): number {
    const x = nameOf(a);
    const y = nameOf(b);
    return x < y ? -1 : x > y ? 1 : 0;
}

/** The objects whose label `key` equals `value` (never matches an empty value), sorted by name. */
export function withLabel(list: readonly KubeObject[], key: string, value: string): KubeObject[] {
    if (!value) return [];
    return list.filter((o) => labelOf(o, key) === value).sort(byName);
}
