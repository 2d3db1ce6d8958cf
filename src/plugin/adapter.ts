/**
 * Runs action cores under the contract of src/plugin/contract.ts and turns them into protocol
 * declarations. Per call: decode the request bytes (losslessly), write the one start-of-call log line,
 * refuse a backup call without a Backup when the action needs one, check the item's kind and API group
 * against appliesTo, parse the options once, run the core, and decide once whether the item changed:
 * the request bytes go back when the returned item serialises as the decoded input did, else the new
 * bytes. Every failure names the item.
 *
 * runBackupAction / runRestoreAction / runItemBlockAction do the same on decoded objects, for the
 * declarations below and for the preflight command, which runs the cores on the objects of a backup.
 */
import { errorMessage, PluginError } from '../errors';
import { InvalidJsonError, parseLossless, stringifyLossless } from '../kube/json';
import { apiGroup, describe, isRecord, nameOf, namespaceOf, refOf, type KubeObject } from '../kube/object';
import { checkRefs, describeRef } from '../kube/refcheck';
import { wireRef, type ObjectRef } from '../kube/resources';
import type { Logger } from '../logging/logger';
import type { Backup, Restore } from '../kube/velero';
import type { ClusterReader } from '../cluster/reader';
import type { ActionDeps, Applicability, BackupAction, BackupOutput, ItemBlockAction, RestoreAction, RestoreInput, RestoreOutput } from './contract';
import { parseBackupOptions, parseRestoreOptions, type Env, type RestoreOptions } from './options';
import type { BackupItemActionDeclaration, ItemBlockActionDeclaration, ResourceIdentifier, ResourceSelector, RestoreItemActionDeclaration } from '../protocol/types';

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
    if (value['apiVersion'] !== undefined && typeof value['apiVersion'] !== 'string') {
        const meta = isRecord(value['metadata']) ? value['metadata'] : {};
        const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
        throw new PluginError('InvalidItem', `${what} has an apiVersion that is not a string`, {
            item: { kind: value['kind'], namespace: text(meta['namespace']), name: text(meta['name']) },
        });
    }
    if (value['metadata'] !== undefined && !isRecord(value['metadata'])) {
        throw new PluginError('InvalidItem', `${what} has a metadata field that is not an object`, { item: { kind: value['kind'] } });
    }
    return value;
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
    return accepted.map(wireRef);
}

export type ClusterProvider = () => ClusterReader;

/** The reader is resolved on the first read, so an action that never reads never needs a cluster. */
function lazyDeps(log: Logger, cluster: ClusterProvider): ActionDeps {
    return {
        cluster: {
            get: (resource, namespace, name) => cluster().get(resource, namespace, name),
            list: (resource, namespace) => cluster().list(resource, namespace),
        },
        log,
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

/** "backup-virtualmachine-action" of "kubevirt-velero-plugin/backup-virtualmachine-action". */
function shortName(name: string): string {
    return name.slice(name.lastIndexOf('/') + 1);
}

/** The one start-of-call line, the same on every side (debug: one line per item is noise at info). */
function logStart(log: Logger, name: string, item: KubeObject): void {
    log.debug(`Executing ${shortName(name)} on ${describe(item)}`);
}

function kindText(appliesTo: Applicability): string {
    return (appliesTo.kinds ?? []).map((k) => k.kind).join(' or ');
}

/**
 * Whether the core runs for this item: the item's kind and API group against `appliesTo.kinds`. A
 * kind the action does not handle is an InvalidItem error ('reject') or answered without the core
 * ('skip', returns false). `named`: a handled item must have a metadata object and a name.
 */
function kindAccepted(appliesTo: Applicability, item: KubeObject, named: boolean, log: Logger, name: string): boolean {
    const kinds = appliesTo.kinds;
    if (kinds === undefined) return true;
    const rule = kinds.find((k) => item.kind === k.kind && (k.group === undefined || apiGroup(item.apiVersion) === k.group));
    if (rule === undefined) {
        if (appliesTo.otherKinds === 'skip') {
            log.debug(`${shortName(name)}: ${describe(item)} (${item.apiVersion ?? 'no apiVersion'}) is not of a kind it handles; nothing to do`);
            return false;
        }
        const sameKind = kinds.find((k) => item.kind === k.kind);
        if (sameKind === undefined) throw new PluginError('InvalidItem', `expected a ${kindText(appliesTo)}, got kind ${JSON.stringify(item.kind ?? '')}`);
        throw new PluginError('InvalidItem', `expected apiVersion ${sameKind.group ?? ''}/*, got ${JSON.stringify(item.apiVersion ?? '')}`);
    }
    if (named) {
        if (!isRecord(item.metadata)) throw new PluginError('InvalidItem', 'metadata is missing');
        if (!nameOf(item)) throw new PluginError('InvalidItem', 'metadata.name is missing');
    }
    return true;
}

/**
 * Velero always sends a Backup; the adapter turns missing bytes into {}. Either way the request is not
 * usable, so the Go plugin's nil check keeps its text.
 */
function requireBackup(backup: Backup): void {
    if (!isRecord(backup) || Object.keys(backup).length === 0) {
        throw new PluginError('InvalidItem', 'backup object nil!: the request carried no Backup object');
    }
}

/**
 * The decision, once per call: undefined when `output` serialises as `input` (the caller sends the
 * request bytes), else the new JSON text. A core that returns its input object costs nothing.
 */
function changedText(input: KubeObject, output: KubeObject): string | undefined {
    if (output === input) return undefined;
    const after = stringifyLossless(output);
    return after === stringifyLossless(input) ? undefined : after;
}

/** What a backup action answers for one item: `text` is the new JSON of the item, undefined when unchanged. */
export interface BackupAnswer extends BackupOutput {
    text: string | undefined;
}

export interface RestoreAnswer extends RestoreOutput {
    text: string | undefined;
}

/** Runs a backup action's core on a decoded item (see the module comment). */
export async function runBackupAction(action: BackupAction, item: KubeObject, backup: Backup, deps: ActionDeps): Promise<BackupAnswer> {
    logStart(deps.log, action.name, item);
    return guarded(item, async () => {
        if (action.requiresBackup) requireBackup(backup);
        if (!kindAccepted(action.appliesTo, item, true, deps.log, action.name)) return { item, additionalItems: [], text: undefined };
        const out = await action.execute({ item, backup, options: parseBackupOptions(backup) }, deps);
        return { ...out, text: changedText(item, out.item) };
    });
}

/**
 * Runs a restore action's core on a decoded item; `itemFromBackup` is called on the core's first read
 * only. `options`: the Restore's options when the caller has them parsed already (they are a function
 * of the Restore and `env` only).
 */
export async function runRestoreAction(
    action: RestoreAction,
    item: KubeObject,
    restore: Restore,
    itemFromBackup: () => KubeObject,
    env: Env,
    deps: ActionDeps,
    options?: RestoreOptions,
): Promise<RestoreAnswer> {
    logStart(deps.log, action.name, item);
    return guarded(item, async () => {
        if (!kindAccepted(action.appliesTo, item, false, deps.log, action.name)) return { item, additionalItems: [], skipRestore: false, text: undefined };
        let fromBackup: KubeObject | undefined;
        const input: RestoreInput = {
            item,
            restore,
            options: options ?? parseRestoreOptions(restore, env),
            get itemFromBackup(): KubeObject {
                fromBackup ??= itemFromBackup();
                return fromBackup;
            },
        };
        const out = await action.execute(input, deps);
        return { ...out, text: changedText(item, out.item) };
    });
}

/** Runs an ItemBlockAction's core on a decoded item. */
export async function runItemBlockAction(action: ItemBlockAction, item: KubeObject, backup: Backup, deps: ActionDeps): Promise<ObjectRef[]> {
    logStart(deps.log, action.name, item);
    return guarded(item, async () => {
        if (!kindAccepted(action.appliesTo, item, false, deps.log, action.name)) return [];
        return action.relatedItems({ item, backup, options: parseBackupOptions(backup) }, deps);
    });
}

/** The selector Velero sees: AppliesTo without the kinds the adapter checks. */
export function selectorOf(appliesTo: Applicability): ResourceSelector {
    return { includedResources: appliesTo.includedResources, ...(appliesTo.selector !== undefined ? { selector: appliesTo.selector } : {}) };
}

function bytesOf(request: Buffer, text: string | undefined): Buffer {
    return text === undefined ? request : Buffer.from(text);
}

export function backupDeclaration(action: BackupAction, cluster: ClusterProvider): BackupItemActionDeclaration {
    return {
        kind: 'BackupItemActionV2',
        name: action.name,
        selector: selectorOf(action.appliesTo),
        async execute(request, context) {
            const item = decodeItem(request.item);
            const backup = decodeOwner<Backup>(request.backup, 'backup');
            const out = await runBackupAction(action, item, backup, lazyDeps(context.log, cluster));
            return { item: bytesOf(request.item, out.text), additionalItems: admitRefs(item, out.additionalItems, context.log, 'additional item') };
        },
    };
}

/** A decoded Restore and its options, kept for the next call that carries the same bytes. */
interface RestoreOwner {
    bytes: Buffer;
    restore: Restore;
    options: RestoreOptions;
}

/**
 * The Restore of a call and its options. Every call of a restore carries the same Restore: its bytes
 * are compared with the last ones seen (a memcmp) and the decoded object and options are reused, so a
 * call does not parse the Restore nor its options again. The options are frozen and no core reads or
 * changes the Restore object itself (they read `options`); an invalid option is kept as its error, as
 * on a first parse, and fails each call that reads it the same way.
 */
function restoreOwnerCache(env: Env): (bytes: Buffer) => RestoreOwner {
    let last: RestoreOwner | undefined;
    return (bytes) => {
        if (last !== undefined && last.bytes.equals(bytes)) return last;
        const restore = decodeOwner<Restore>(bytes, 'restore');
        // A copy: the request's buffer can be a view of a larger one that must not be kept alive.
        last = { bytes: Buffer.from(bytes), restore, options: parseRestoreOptions(restore, env) };
        return last;
    };
}

export function restoreDeclaration(action: RestoreAction, cluster: ClusterProvider, env: Env): RestoreItemActionDeclaration {
    const ownerOf = restoreOwnerCache(env);
    return {
        kind: 'RestoreItemActionV2',
        name: action.name,
        selector: selectorOf(action.appliesTo),
        async execute(request, context) {
            const item = decodeItem(request.item);
            const { restore, options } = ownerOf(request.restore);
            // Decoded on first use only: few actions read it, and a VM is the largest item there is.
            const fromBackup = (): KubeObject => (request.itemFromBackup.length > 0 ? decodeItem(request.itemFromBackup, 'itemFromBackup') : item);
            const out = await runRestoreAction(action, item, restore, fromBackup, env, lazyDeps(context.log, cluster), options);
            return {
                item: bytesOf(request.item, out.text),
                additionalItems: admitRefs(item, out.additionalItems, context.log, 'additional item'),
                skipRestore: out.skipRestore,
            };
        },
    };
}

export function itemBlockDeclaration(action: ItemBlockAction, cluster: ClusterProvider): ItemBlockActionDeclaration {
    return {
        kind: 'ItemBlockAction',
        name: action.name,
        selector: selectorOf(action.appliesTo),
        async relatedItems(request, context) {
            const item = decodeItem(request.item);
            const backup = decodeOwner<Backup>(request.backup, 'backup');
            const related = await runItemBlockAction(action, item, backup, lazyDeps(context.log, cluster));
            return admitRefs(item, related, context.log, 'related item');
        },
    };
}
