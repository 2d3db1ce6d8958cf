/** Helpers for the restore action tests: fixtures by name, a recording cluster, a capturing logger. */
import type { ClusterReader } from '../../../src/cluster/reader';
import { StaticCluster } from '../../support/static-cluster';
import { PluginError } from '../../../src/errors';
import { deepClone } from '../../../src/kube/json';
import { nameOf, namespaceOf, type KubeObject } from '../../../src/kube/object';
import { groupResourceString, type GroupResource, type ObjectRef } from '../../../src/kube/resources';
import type { Restore } from '../../../src/kube/velero';
import { Logger } from '../../../src/logging/logger';
import { runRestoreAction } from '../../../src/plugin/adapter';
import type { RestoreAction } from '../../../src/plugin/contract';
import type { Env } from '../../../src/plugin/options';
import { loadFixtures } from '../fixtures';

const cache = new Map<string, KubeObject[]>();

function objects(file: string): KubeObject[] {
    let all = cache.get(file);
    if (!all) {
        all = loadFixtures(`restore/${file}`);
        cache.set(file, all);
    }
    return all;
}

/** A fresh copy of the object named `name` in test/fixtures/restore/<file>; throws when absent. */
export function fixture(file: string, name: string): KubeObject {
    const found = objects(file).find((o) => nameOf(o) === name);
    if (!found) throw new Error(`restore/${file}: no object named ${name}`);
    return deepClone(found);
}

/** Every object of test/fixtures/restore/<file>. */
export function fixtures(...files: string[]): KubeObject[] {
    return files.flatMap((f) => objects(f).map((o) => deepClone(o)));
}

/**
 * StaticCluster with the reader contract's "namespace '' lists all namespaces" (StaticCluster itself
 * only returns objects without a namespace for ''), recording every call as "list <resource> <ns>".
 */
export class RecordingCluster implements ClusterReader {
    readonly calls: string[] = [];
    private readonly inner: StaticCluster;

    constructor(private readonly objects: readonly KubeObject[] = []) {
        this.inner = new StaticCluster(objects);
    }

    async get(resource: GroupResource, namespace: string, name: string): Promise<KubeObject | undefined> {
        this.calls.push(`get ${groupResourceString(resource)} ${namespace}/${name}`);
        return this.inner.get(resource, namespace, name);
    }

    async list(resource: GroupResource, namespace: string): Promise<readonly KubeObject[]> {
        this.calls.push(`list ${groupResourceString(resource)} ${namespace === '' ? '*' : namespace}`);
        if (namespace !== '' || !resource.namespaced) return this.inner.list(resource, namespace);
        const namespaces = [...new Set(this.objects.map(namespaceOf))];
        const lists = await Promise.all(namespaces.map((ns) => this.inner.list(resource, ns)));
        return lists.flat();
    }
}

/** A logger whose info-and-above messages are kept, in order. */
export function capturingLogger(): { log: Logger; messages: string[] } {
    const messages: string[] = [];
    const log = new Logger('info', (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        messages.push(String(entry['@message']));
    });
    return { log, messages };
}

export interface RestoreOptions {
    labels?: Record<string, string>;
    namespaceMapping?: Record<string, string>;
}

/** A Restore named "r1" in namespace velero with the given labels and namespace mapping. */
export function restoreWith(options: RestoreOptions = {}): Restore {
    return {
        apiVersion: 'velero.io/v1',
        kind: 'Restore',
        metadata: { name: 'r1', namespace: 'velero', ...(options.labels ? { labels: options.labels } : {}) },
        spec: { backupName: 'b1', ...(options.namespaceMapping ? { namespaceMapping: options.namespaceMapping } : {}) },
    };
}

/** What the adapter answered: `item` only when it sends new bytes (undefined: the request bytes go back). */
export interface Output {
    item?: KubeObject;
    additionalItems: ObjectRef[];
    skipRestore: boolean;
}

export interface Run {
    output: Output;
    messages: string[];
    cluster: RecordingCluster;
    /** The untouched input, to check that the core never mutates it. */
    input: KubeObject;
}

/**
 * Runs a restore action through the adapter (src/plugin/adapter.ts runRestoreAction) on a copy of
 * `item` and checks the input was not mutated. `itemFromBackup` defaults to a copy of the item.
 */
export async function run(
    action: RestoreAction,
    item: KubeObject,
    restore: Restore = restoreWith(),
    cluster: RecordingCluster = new RecordingCluster(),
    { itemFromBackup = deepClone(item), env = {}, log: given }: { itemFromBackup?: KubeObject; env?: Env; log?: Logger } = {},
): Promise<Run> {
    const captured = capturingLogger();
    const input = deepClone(item);
    const answer = await runRestoreAction(action, input, restore, () => itemFromBackup, env, { cluster, log: given ?? captured.log });
    expect(input).toEqual(item);
    const output: Output = {
        ...(answer.text === undefined ? {} : { item: answer.item }),
        additionalItems: answer.additionalItems,
        skipRestore: answer.skipRestore,
    };
    return { output, messages: captured.messages, cluster, input };
}

/** "persistentvolumeclaims/ns/name", "datavolumes.cdi.kubevirt.io/ns/name", ... in output order. */
export function keys(refs: readonly ObjectRef[]): string[] {
    return refs.map((r) => `${groupResourceString(r)}/${r.namespace}/${r.name}`);
}

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Runs a restore core that must fail and returns its PluginError (fails the test otherwise). */
export async function runError(
    action: RestoreAction,
    item: KubeObject,
    restore: Restore = restoreWith(),
    cluster: RecordingCluster = new RecordingCluster(),
    env: Env = {},
): Promise<PluginError> {
    const { log } = capturingLogger();
    const error = await runRestoreAction(action, item, restore, () => deepClone(item), env, { cluster, log }).then(
        () => undefined,
        (e: unknown) => e,
    );
    if (!(error instanceof PluginError)) throw new Error(`expected a PluginError, got ${String(error)}`);
    return error;
}
