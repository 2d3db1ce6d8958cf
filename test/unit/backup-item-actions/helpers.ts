/** Shared helpers for the backup action tests: a capturing logger, Backup objects, fixture access. */
import type { ClusterReader } from '../../../src/cluster/reader';
import { StaticCluster } from '../../support/static-cluster';
import { PluginError } from '../../../src/errors';
import { deepClone } from '../../../src/kube/json';
import { nameOf, type KubeObject } from '../../../src/kube/object';
import { wireRef, type GroupResource, type ObjectRef } from '../../../src/kube/resources';
import type { Backup, BackupSpec } from '../../../src/kube/velero';
import { Logger } from '../../../src/logging/logger';
import { runBackupAction } from '../../../src/plugin/adapter';
import type { BackupAction } from '../../../src/plugin/contract';
import { loadFixtures } from '../fixtures';

/** Refs as Velero receives them: the four wire fields, without the internal `field` (src/kube/resources.ts). */
export function wire(refs: readonly ObjectRef[]): ObjectRef[] {
    return refs.map(wireRef);
}

export interface LogEntry {
    level: string;
    message: string;
}

export interface CapturedLog {
    log: Logger;
    entries: LogEntry[];
    /** Messages at one level, in order. */
    at(level: string): string[];
}

export function captureLog(): CapturedLog {
    const entries: LogEntry[] = [];
    const log = new Logger('debug', (line) => {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        entries.push({ level: String(parsed['@level']), message: String(parsed['@message']) });
    });
    return { log, entries, at: (level) => entries.filter((e) => e.level === level).map((e) => e.message) };
}

export function makeBackup(spec: BackupSpec = {}, labels: Record<string, string> = {}): Backup {
    return { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'b1', namespace: 'velero', labels }, spec };
}

/** All objects of the named fixture files (test/fixtures/backup/...), deep-copied so tests may change them. */
export function world(...files: string[]): KubeObject[] {
    return files.flatMap((f) => loadFixtures(`backup/${f}`)).map((o) => deepClone(o));
}

export function find(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
    const found = objects.find((o) => o.kind === kind && nameOf(o) === name);
    if (!found) throw new Error(`no ${kind} ${name} in the fixtures`);
    return found;
}

/** A cluster reader that records calls. */
export class SpyCluster implements ClusterReader {
    readonly calls: string[] = [];
    constructor(private readonly inner: ClusterReader) {}
    async get(resource: GroupResource, namespace: string, name: string): Promise<KubeObject | undefined> {
        this.calls.push(`get ${resource.resource} ${namespace}/${name}`);
        return this.inner.get(resource, namespace, name);
    }
    async list(resource: GroupResource, namespace: string): Promise<readonly KubeObject[]> {
        this.calls.push(`list ${resource.resource} ${namespace}`);
        return this.inner.list(resource, namespace);
    }
}

/** A cluster reader that fails every call with a Forbidden PluginError. */
export const forbiddenCluster: ClusterReader = {
    async get(resource) {
        throw new PluginError('Forbidden', `get ${resource.resource} is forbidden`);
    },
    async list(resource, namespace) {
        throw new PluginError('Forbidden', `list ${resource.resource} in namespace ${namespace} is forbidden`);
    },
};

export interface RunResult {
    /** What the adapter answered: `item` only when it sends new bytes (undefined: the request bytes go back). */
    out: { item?: KubeObject; additionalItems: ObjectRef[] };
    /** The item Velero would store: the returned one, or the input unchanged. */
    item: KubeObject;
    log: CapturedLog;
}

/** Runs the action through the adapter (src/plugin/adapter.ts runBackupAction) and checks the input was not mutated. */
export async function runBackup(action: BackupAction, item: KubeObject, backup: Backup, objects: readonly KubeObject[] | ClusterReader = []): Promise<RunResult> {
    const log = captureLog();
    const cluster = Array.isArray(objects) ? new StaticCluster(objects as KubeObject[]) : (objects as ClusterReader);
    const before = JSON.stringify(item);
    const answer = await runBackupAction(action, item, backup, { cluster, log: log.log });
    if (JSON.stringify(item) !== before) throw new Error('the action mutated its input item');
    const out = answer.text === undefined ? { additionalItems: answer.additionalItems } : { item: answer.item, additionalItems: answer.additionalItems };
    return { out, item: out.item ?? item, log };
}

/** Runs the action expecting a PluginError; returns "reason: detail". */
export async function refusal(action: BackupAction, item: KubeObject, backup: Backup, objects: readonly KubeObject[] | ClusterReader = []): Promise<string> {
    try {
        await runBackup(action, item, backup, objects);
    } catch (error) {
        if (error instanceof PluginError) return `${error.reason}: ${error.detail}`;
        throw error;
    }
    throw new Error('expected the action to fail');
}

/** Sets (undefined: deletes) a nested field, creating objects on the way; numbers index arrays. */
export function setPath(obj: KubeObject, path: readonly (string | number)[], value: unknown): KubeObject {
    let current = obj as Record<string | number, unknown>;
    for (const segment of path.slice(0, -1)) {
        if (typeof current[segment] !== 'object' || current[segment] === null) current[segment] = {};
        current = current[segment] as Record<string | number, unknown>;
    }
    const last = path[path.length - 1] as string | number;
    if (value === undefined) delete current[last];
    else current[last] = value;
    return obj;
}

export function label(obj: KubeObject, key: string, value: string): KubeObject {
    obj.metadata ??= {};
    obj.metadata.labels = { ...(obj.metadata.labels ?? {}), [key]: value };
    return obj;
}

export function annotate(obj: KubeObject, key: string, value: string): KubeObject {
    obj.metadata ??= {};
    obj.metadata.annotations = { ...(obj.metadata.annotations ?? {}), [key]: value };
    return obj;
}

export const EXCLUDE = 'velero.io/exclude-from-backup';
