/**
 * The untyped Kubernetes object the actions work on, and the small readers every layer shares. Items stay
 * untyped (no field is ever dropped) and are untrusted: every reader here tolerates a missing or
 * mistyped field. Where an action needs the shape of a KubeVirt or CDI field, it names a type of
 * @kubevirt-ui-ext/kubevirt-api (type-only imports, nothing of it is bundled) to read it.
 */
import { describeItem, type ItemRef } from '../errors';
import { KIND, R } from './resources';

export interface OwnerReference {
    apiVersion?: string;
    kind?: string;
    name?: string;
    uid?: string;
    controller?: boolean;
}

export interface ObjectMeta {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    [key: string]: unknown;
}

export interface KubeObject {
    apiVersion?: string;
    kind?: string;
    metadata?: ObjectMeta;
    spec?: unknown;
    status?: unknown;
    [key: string]: unknown;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function nameOf(obj: KubeObject): string {
    return typeof obj.metadata?.name === 'string' ? obj.metadata.name : '';
}

export function namespaceOf(obj: KubeObject): string {
    return typeof obj.metadata?.namespace === 'string' ? obj.metadata.namespace : '';
}

/**
 * The object's labels as written. Items are untrusted: a value may be a number, an object or null, so
 * the values are `unknown`; read one label with labelOf, which answers only with strings.
 */
export function labelsOf(obj: KubeObject): Readonly<Record<string, unknown>> {
    const labels = obj.metadata?.labels;
    return isRecord(labels) ? labels : {};
}

/** The object's annotations as written (values `unknown`, see labelsOf); one annotation: annotationOf. */
export function annotationsOf(obj: KubeObject): Readonly<Record<string, unknown>> {
    const annotations = obj.metadata?.annotations;
    return isRecord(annotations) ? annotations : {};
}

/** One label's value; a label whose value is not a string is no label (Go's GetLabels drops such a map). */
export function labelOf(obj: KubeObject, key: string): string | undefined {
    const value = labelsOf(obj)[key];
    return typeof value === 'string' ? value : undefined;
}

/** One annotation's value; an annotation whose value is not a string is no annotation. */
export function annotationOf(obj: KubeObject, key: string): string | undefined {
    const value = annotationsOf(obj)[key];
    return typeof value === 'string' ? value : undefined;
}

/** The item's owner references, each holding only the fields that have the declared types (items are untrusted). */
export function ownerReferencesOf(obj: KubeObject): OwnerReference[] {
    const refs = obj.metadata?.ownerReferences;
    if (!Array.isArray(refs)) return [];
    return refs.filter(isRecord).map((r) => {
        const ref: OwnerReference = {};
        for (const key of ['apiVersion', 'kind', 'name', 'uid'] as const) {
            const value = r[key];
            if (typeof value === 'string') ref[key] = value;
        }
        if (typeof r['controller'] === 'boolean') ref.controller = r['controller'];
        return ref;
    });
}

/**
 * The API group of an apiVersion: "kubevirt.io" of "kubevirt.io/v1", "" for the core group ("v1") and
 * for a missing apiVersion.
 */
export function apiGroup(apiVersion: string | undefined): string {
    const v = apiVersion ?? '';
    const slash = v.indexOf('/');
    return slash < 0 ? '' : v.slice(0, slash);
}

/** The first owner reference of this kind and API group that names its owner, if any. */
export function ownerOfKind(obj: KubeObject, kind: string, group: string): OwnerReference | undefined {
    return ownerReferencesOf(obj).find((o) => o.kind === kind && apiGroup(o.apiVersion) === group && typeof o.name === 'string' && o.name !== '');
}

/**
 * The VirtualMachine owning an object (a VMI): an owner reference of kind VirtualMachine, API group
 * kubevirt.io, with a non-empty name. Any other owner (another group's VirtualMachine, a nameless
 * reference) is not a KubeVirt VM.
 */
export function vmOwner(obj: KubeObject): OwnerReference | undefined {
    return ownerOfKind(obj, KIND.vm, R.vms.group);
}

/** The object as the item of a PluginError or a message (describeItem); `kind` replaces its kind word ("VM"). */
export function refOf(obj: KubeObject, kind: string | undefined = obj.kind): ItemRef {
    return { kind, namespace: namespaceOf(obj), name: nameOf(obj) };
}

/** The one way to name an object in a message: "VirtualMachine ns/name" (describeItem); `kind` replaces its kind word ("VM"). */
export function describe(obj: KubeObject, kind: string | undefined = obj.kind): string {
    return describeItem(refOf(obj, kind));
}

/** Sets (or with undefined, removes) a label, creating metadata.labels as needed. Mutates obj. */
export function setLabel(obj: KubeObject, key: string, value: string | undefined): void {
    setMetaMapEntry(obj, 'labels', key, value);
}

/** Sets (or with undefined, removes) an annotation. Mutates obj. */
export function setAnnotation(obj: KubeObject, key: string, value: string | undefined): void {
    setMetaMapEntry(obj, 'annotations', key, value);
}

function setMetaMapEntry(obj: KubeObject, field: 'labels' | 'annotations', key: string, value: string | undefined): void {
    obj.metadata ??= {};
    const current = isRecord(obj.metadata[field]) ? obj.metadata[field] : undefined;
    if (value === undefined) {
        if (!current || !(key in current)) return;
        delete current[key];
        if (Object.keys(current).length === 0) delete obj.metadata[field];
        return;
    }
    // Setting a value that is already there leaves the map as it was (its remembered key order
    // included), so an item a core did not really change still serialises like its input.
    if (current?.[key] === value) return;
    obj.metadata[field] = { ...(current ?? {}), [key]: value };
}

/** Reads a nested value by path without throwing on missing or non-object intermediate values. */
export function pathGet(value: unknown, path: readonly (string | number)[]): unknown {
    let current: unknown = value;
    for (const segment of path) {
        if (typeof segment === 'number') {
            if (!Array.isArray(current)) return undefined;
            current = current[segment];
        } else {
            if (!isRecord(current)) return undefined;
            current = current[segment];
        }
    }
    return current;
}

/** The string at `path`, or '' when it is absent or not a string. */
export function stringAt(value: unknown, path: readonly (string | number)[]): string {
    const found = pathGet(value, path);
    return typeof found === 'string' ? found : '';
}

export function arrayAt(value: unknown, path: readonly (string | number)[]): unknown[] {
    const found = pathGet(value, path);
    return Array.isArray(found) ? found : [];
}
