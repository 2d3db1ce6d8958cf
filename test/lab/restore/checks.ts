/**
 * Reading restore outcomes in the restore lab test: flattened restore results, plugin lines of a log,
 * and paths into backed-up and restored objects.
 */
import type { KubeObject } from '../../../src/kube/object';
import { pluginLogLines, type Lab, type ResultBucket } from '../lab';

/** Every message of a result bucket, prefixed with where Velero filed it ("velero: …", "ns rst-a: …"). */
export function messages(bucket: ResultBucket | undefined): string[] {
    if (bucket === undefined) return [];
    return [
        ...(bucket.velero ?? []).map((m) => `velero: ${m}`),
        ...(bucket.cluster ?? []).map((m) => `cluster: ${m}`),
        ...Object.entries(bucket.namespaces ?? {}).flatMap(([ns, ms]) => ms.map((m) => `ns ${ns}: ${m}`)),
    ];
}

/**
 * Warnings the lab README predicts for every restore: no VolumeGroupSnapshot CRDs, and the CRDs a
 * namespace backup carries already exist.
 */
export const EXPECTED_WARNINGS: readonly RegExp[] = [
    /failed to list stub VolumeGroupSnapshotContents/,
    /could not restore, CustomResourceDefinition:\S+ already exists\. Warning: the in-cluster version is different than the backed-up version/,
];

/** The warnings no expectation explains. */
export function unexpectedWarnings(bucket: ResultBucket | undefined): string[] {
    return messages(bucket).filter((m) => !EXPECTED_WARNINGS.some((re) => re.test(m)));
}

/** Lines of a restore (or backup) log from our plugin at level error. */
export function pluginErrors(log: string): string[] {
    return pluginLogLines(log).filter((l) => l.includes('level=error'));
}

/** The value at a path of objects and arrays (numbers index arrays). */
export function at(obj: unknown, path: readonly (string | number)[]): unknown {
    let cur: unknown = obj;
    for (const p of path) {
        if (cur === null || typeof cur !== 'object') return undefined;
        cur = (cur as Record<string | number, unknown>)[p];
    }
    return cur;
}

/** The item of the backup tarball (as `lab.readBackup` maps it). */
export function backupItem(files: ReadonlyMap<string, unknown>, resource: string, ns: string, name: string): KubeObject {
    const p = `resources/${resource}/namespaces/${ns}/${name}.json`;
    const item = files.get(p);
    if (item === undefined || typeof item !== 'object') throw new Error(`no ${p} in the backup`);
    return item as KubeObject;
}

/** The backed-up items of a resource in a namespace. */
export function backupItems(files: ReadonlyMap<string, unknown>, resource: string, ns: string): KubeObject[] {
    const prefix = `resources/${resource}/namespaces/${ns}/`;
    return [...files.entries()].filter(([p]) => p.startsWith(prefix) && p.endsWith('.json')).map(([, v]) => v as KubeObject);
}

/** An object that must exist. */
export async function mustGet(lab: Lab, resource: string, ns: string, name: string): Promise<KubeObject> {
    const obj = await lab.getJson(resource, ns, name);
    if (obj === undefined) throw new Error(`${resource} ${ns}/${name} was not restored`);
    return obj;
}

/** MAC addresses and firmware serial of a VM's template (what the identity policy touches). */
export function identityOf(vm: KubeObject): { macs: unknown[]; serial: unknown; uuid: unknown } {
    const spec = at(vm, ['spec', 'template', 'spec']);
    const ifaces = (at(spec, ['domain', 'devices', 'interfaces']) as unknown[] | undefined) ?? [];
    return {
        macs: ifaces.map((i) => at(i, ['macAddress'])),
        serial: at(spec, ['domain', 'firmware', 'serial']),
        uuid: at(spec, ['domain', 'firmware', 'uuid']),
    };
}
