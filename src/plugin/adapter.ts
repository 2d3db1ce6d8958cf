/**
 * Turns action cores into protocol declarations: decodes the request bytes (losslessly), checks that
 * the item is a Kubernetes object, runs the core, and encodes the answer. Unchanged items go back as
 * the exact request bytes. Every failure names the item.
 */
import { errorMessage, PluginError } from '../errors';
import { InvalidJsonError, parseLossless, stringifyLossless } from '../kube/json';
import type { ActionDeps, BackupActionSpec, ItemBlockActionSpec, RestoreActionSpec } from '../kube/action';
import { describe, isRecord, namespaceOf, refOf, type KubeObject } from '../kube/object';
import { checkRefs, describeRef } from '../kube/refcheck';
import type { ObjectRef } from '../kube/resources';
import type { Logger } from '../logging/logger';
import type { Backup, Restore } from '../kube/velero';
import type { ClusterReader } from '../cluster/reader';
import type {
    BackupItemActionDeclaration,
    CallContext,
    ItemBlockActionDeclaration,
    ResourceIdentifier,
    RestoreItemActionDeclaration,
} from '../protocol/types';

/** Decodes an item: a JSON object with a non-empty string kind. */
export function decodeItem(bytes: Buffer, what = 'item'): KubeObject {
    if (bytes.length === 0) throw new PluginError('InvalidItem', `${what} is empty`);
    let value: unknown;
    try {
        value = parseLossless(bytes);
    } catch (error) {
        const reason = error instanceof InvalidJsonError ? error.message : errorMessage(error);
        throw new PluginError('InvalidItem', `${what} is not valid JSON: ${reason}`);
    }
    if (!isRecord(value)) throw new PluginError('InvalidItem', `${what} is not a JSON object`);
    if (typeof value['kind'] !== 'string' || value['kind'].length === 0) {
        const meta = isRecord(value['metadata']) ? value['metadata'] : {};
        const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
        throw new PluginError('InvalidItem', `${what} has no kind`, {
            item: { kind: 'object', namespace: text(meta['namespace']), name: text(meta['name']) },
        });
    }
    if (value['metadata'] !== undefined && !isRecord(value['metadata'])) {
        throw new PluginError('InvalidItem', `${what} has a metadata field that is not an object`, { item: { kind: value['kind'] } });
    }
    return value as KubeObject;
}

/** Decodes the Backup or Restore. Empty bytes give an empty object: cores decide what they need. */
function decodeOwner<T>(bytes: Buffer, what: string): T {
    if (bytes.length === 0) return {} as T;
    try {
        const value = parseLossless(bytes);
        if (!isRecord(value)) throw new Error('not a JSON object');
        return value as T;
    } catch (error) {
        throw new PluginError('InvalidItem', `${what} is not valid JSON: ${errorMessage(error)}`);
    }
}

function encode(original: Buffer, item: KubeObject | undefined): Buffer {
    return item === undefined ? original : Buffer.from(stringifyLossless(item));
}

/** Warnings about dropped references per item; an item with thousands of hostile names gets one more line. */
export const MAX_REF_WARNINGS = 20;

/**
 * The one gate between the refs an action core returns and Velero (docs/decisions/007-trust-model.md):
 * a ref that breaks a rule of src/kube/refcheck.ts (resource outside the graph's set, another namespace,
 * a name that is not an object name) is dropped with a warning naming the item and the field it came
 * from; the item itself goes through. Only the four wire fields are sent.
 */
export function admitRefs(item: KubeObject, refs: readonly ObjectRef[], log: Logger, what: 'additional item' | 'related item'): ResourceIdentifier[] {
    const { accepted, rejected } = checkRefs(refs, namespaceOf(item));
    for (const { ref, problem } of rejected.slice(0, MAX_REF_WARNINGS)) {
        log.warn(`${describe(item)}: dropping ${what} ${describeRef(ref)}: ${problem}`);
    }
    if (rejected.length > MAX_REF_WARNINGS) {
        log.warn(`${describe(item)}: dropping ${rejected.length - MAX_REF_WARNINGS} more invalid ${what}s (${rejected.length} in all)`);
    }
    return accepted.map((r) => ({ group: r.group, resource: r.resource, namespace: r.namespace, name: r.name }));
}

export type ClusterProvider = () => ClusterReader;

/** The reader is resolved on the first read, so an action that never reads never needs a cluster. */
function deps(context: CallContext, cluster: ClusterProvider): ActionDeps {
    return {
        cluster: {
            get: (resource, namespace, name) => cluster().get(resource, namespace, name),
            list: (resource, namespace) => cluster().list(resource, namespace),
        },
        log: context.log,
    };
}

async function guarded<T>(item: KubeObject, run: () => Promise<T>): Promise<T> {
    try {
        return await run();
    } catch (error) {
        if (error instanceof PluginError) throw error.about(refOf(item));
        throw new PluginError('Internal', errorMessage(error), { item: refOf(item), cause: error });
    }
}

export function backupDeclaration(spec: BackupActionSpec, cluster: ClusterProvider): BackupItemActionDeclaration {
    return {
        kind: 'BackupItemActionV2',
        name: spec.name,
        selector: spec.appliesTo,
        async execute(request, context) {
            const item = decodeItem(request.item);
            const backup = decodeOwner<Backup>(request.backup, 'backup');
            const out = await guarded(item, () => spec.execute({ item, backup }, deps(context, cluster)));
            return { item: encode(request.item, out.item), additionalItems: admitRefs(item, out.additionalItems, context.log, 'additional item') };
        },
    };
}

export function restoreDeclaration(spec: RestoreActionSpec, cluster: ClusterProvider): RestoreItemActionDeclaration {
    return {
        kind: 'RestoreItemActionV2',
        name: spec.name,
        selector: spec.appliesTo,
        async execute(request, context) {
            const item = decodeItem(request.item);
            const restore = decodeOwner<Restore>(request.restore, 'restore');
            // Decoded on first use only: no action reads it today, and a VM is the largest item there is.
            let fromBackup: KubeObject | undefined;
            const input = {
                item,
                restore,
                get itemFromBackup(): KubeObject {
                    fromBackup ??= request.itemFromBackup.length > 0 ? decodeItem(request.itemFromBackup, 'itemFromBackup') : item;
                    return fromBackup;
                },
            };
            const out = await guarded(item, () => spec.execute(input, deps(context, cluster)));
            return {
                item: encode(request.item, out.item),
                additionalItems: admitRefs(item, out.additionalItems, context.log, 'additional item'),
                skipRestore: out.skipRestore,
            };
        },
    };
}

export function itemBlockDeclaration(spec: ItemBlockActionSpec, cluster: ClusterProvider): ItemBlockActionDeclaration {
    return {
        kind: 'ItemBlockAction',
        name: spec.name,
        selector: spec.appliesTo,
        async relatedItems(request, context) {
            const item = decodeItem(request.item);
            const backup = decodeOwner<Backup>(request.backup, 'backup');
            const related = await guarded(item, () => spec.relatedItems({ item, backup }, deps(context, cluster)));
            return admitRefs(item, related, context.log, 'related item');
        },
    };
}
