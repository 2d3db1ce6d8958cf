/**
 * The rules every reference the plugin hands to Velero, or puts into an API request path, must follow
 * (docs/decisions/007-trust-model.md). Pure functions; the adapter (src/plugin/adapter.ts) applies them to
 * every additional and related item of every action, the cluster reader (src/cluster/kube.ts) to every
 * request path.
 *
 * Why: a reference is built from names inside an item (a VM's volumes, its recorded restore graph), and an
 * item is untrusted. Velero reads a restore's additional item from
 * `resources/<group-resource>/namespaces/<namespace>/<name>.json` with filepath.Join, so a name such as
 * `../victim/db-creds` resolves to another namespace's object, which Velero then creates in the item's
 * namespace; a resource such as rolebindings would let an item choose what gets created.
 *
 * The rules:
 *  1. the group-resource is one of the graph's fixed set (`R`, src/kube/resources.ts);
 *  2. the name is a DNS-1123 subdomain (lower-case alphanumerics, '-' and '.', alphanumeric at both ends
 *     of every '.'-separated part, at most 253 characters): the name rule of every resource in `R`, which
 *     excludes '/', '.', '..' and every empty segment;
 *  3. a namespaced resource is referenced in the item's own namespace (itself a DNS-1123 label), a
 *     cluster-scoped one with namespace "". The graph follows no cross-namespace reference at all (see
 *     the decision record for the ones it deliberately leaves alone), so there is no exception.
 */
import { groupResourceString, R, type GroupResource, type ObjectRef } from './resources';

export const MAX_NAME_LENGTH = 253;
export const MAX_NAMESPACE_LENGTH = 63;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Every group-resource a reference may name, keyed "resource[.group]", derived from `R`. */
export const ALLOWED_RESOURCES: ReadonlyMap<string, GroupResource> = new Map(Object.values(R).map((r): [string, GroupResource] => [groupResourceString(r), r]));

/** Shows an untrusted string in a log line or an error: quoted, control characters escaped, cut at 80. */
export function quote(value: string): string {
    const cut = value.length > 80 ? `${value.slice(0, 80)}…(${value.length} characters)` : value;
    return JSON.stringify(cut);
}

/** Why `name` is not a valid object name (DNS-1123 subdomain), or undefined when it is. */
export function nameProblem(name: string): string | undefined {
    if (name === '') return 'the name is empty';
    if (name.length > MAX_NAME_LENGTH) return `the name is longer than ${MAX_NAME_LENGTH} characters`;
    if (name.includes('/')) return "the name contains '/'";
    if (name === '.' || name === '..') return `the name is "${name}"`;
    if (!name.split('.').every((part) => DNS1123_LABEL.test(part))) {
        return "the name is not a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)";
    }
    return undefined;
}

/** Why `namespace` is not a valid namespace name (DNS-1123 label), or undefined when it is. */
export function namespaceProblem(namespace: string): string | undefined {
    if (namespace === '') return 'the namespace is empty';
    if (namespace.length > MAX_NAMESPACE_LENGTH) return `the namespace is longer than ${MAX_NAMESPACE_LENGTH} characters`;
    if (!DNS1123_LABEL.test(namespace)) return 'the namespace is not a DNS-1123 label';
    return undefined;
}

/**
 * Why `ref`, returned for an item of namespace `itemNamespace`, must not reach Velero; undefined when it
 * may. Checks the resource, the namespace, then the name.
 */
export function refProblem(ref: ObjectRef, itemNamespace: string): string | undefined {
    const resource = ALLOWED_RESOURCES.get(groupResourceString(ref));
    if (!resource) return `resource ${quote(groupResourceString(ref))} is not one the plugin ever refers to`;
    if (resource.namespaced) {
        if (ref.namespace !== itemNamespace) {
            return `namespace ${quote(ref.namespace)} is not the item's own namespace ${quote(itemNamespace)}`;
        }
        const ns = namespaceProblem(ref.namespace);
        if (ns) return ns;
    } else if (ref.namespace !== '') {
        return `${groupResourceString(ref)} is cluster-scoped but the reference names namespace ${quote(ref.namespace)}`;
    }
    return nameProblem(ref.name);
}

export interface RejectedRef {
    ref: ObjectRef;
    problem: string;
}

/** Splits refs into those that may reach Velero and those that may not (with the reason), keeping order. */
export function checkRefs(refs: readonly ObjectRef[], itemNamespace: string): { accepted: ObjectRef[]; rejected: RejectedRef[] } {
    const accepted: ObjectRef[] = [];
    const rejected: RejectedRef[] = [];
    for (const ref of refs) {
        const problem = refProblem(ref, itemNamespace);
        if (problem === undefined) accepted.push(ref);
        else rejected.push({ ref, problem });
    }
    return { accepted, rejected };
}

/** "secrets \"../victim/db-creds\" in namespace \"ns\" (from spec.volumes[0].secret.secretName)" for a log line. */
export function describeRef(ref: ObjectRef): string {
    const where = ref.namespace === '' ? '' : ` in namespace ${quote(ref.namespace)}`;
    const from = ref.field ? ` (from ${ref.field})` : '';
    return `${groupResourceString(ref)} ${quote(ref.name)}${where}${from}`;
}

/**
 * Why a request for `resource` in `namespace` (named `name`, for a GET) cannot be a real object's path, or
 * undefined when it can. `namespace` is "" for cluster-scoped resources and all-namespace lists. Any
 * resource the plugin reads comes from `R`; this guards the parts that come from items.
 */
export function requestProblem(resource: GroupResource, namespace: string, name?: string): string | undefined {
    if (namespace !== '' && resource.namespaced) {
        const ns = namespaceProblem(namespace);
        if (ns) return ns;
    }
    return name === undefined ? undefined : nameProblem(name);
}
