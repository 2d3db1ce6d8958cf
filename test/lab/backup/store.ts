/**
 * Backup artefacts the Lab class does not read: the results file Velero uploads next to the tarball
 * (backups/<name>/<name>-results.gz: the error and warning log lines, by namespace), and a view of the
 * tarball's items without the `<version>-preferredversion` copies Velero adds.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { KubeObject } from '../../../src/kube/object';
import { BSL_BUCKET, type Lab, type RestoreResults } from '../lab';

/**
 * The backup results (same shape as restore results: velero / cluster / namespaces buckets). Velero writes
 * each entry as ` resource: /<gr> name: /<name> message: /<msg> error: /<error>` (the fields present).
 * Local lab only (the object store is a directory).
 */
export function backupResults(lab: Lab, name: string): RestoreResults {
    if (lab.isExistingCluster) throw new Error('backupResults reads the local object store; not available on an existing cluster');
    const path = join(lab.objectStoreRoot, BSL_BUCKET, 'backups', name, `${name}-results.gz`);
    if (!existsSync(path)) throw new Error(`backup ${name}: no results file ${path}`);
    return JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as RestoreResults;
}

/** The items of a backup tarball: "<group-resource> <ns>/<name>" (ns empty for cluster-scoped) -> object. */
export function backupItems(files: ReadonlyMap<string, unknown>): Map<string, KubeObject> {
    const out = new Map<string, KubeObject>();
    for (const [path, value] of files) {
        const m = /^resources\/([^/]+)\/(?:namespaces\/([^/]+)|cluster)\/([^/]+)\.json$/.exec(path);
        if (!m) continue; // metadata/version and the */<v>-preferredversion/* copies
        out.set(`${m[1] as string} ${m[2] ?? ''}/${m[3] as string}`, value as KubeObject);
    }
    return out;
}

/** The keys of the items of one resource in one namespace, sorted. */
export function keysOf(items: ReadonlyMap<string, unknown>, resource: string, ns: string): string[] {
    return [...items.keys()].filter((k) => k.startsWith(`${resource} ${ns}/`)).sort();
}
