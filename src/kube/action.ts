/**
 * The shape of an action's core: a function of the item, the Backup or Restore, and injected cluster
 * reads. Cores never see bytes or gRPC; src/plugin/adapter.ts turns them into protocol declarations.
 * A core that changes nothing returns no `item`, and the request bytes go back to Velero untouched.
 * A core that changes the item works on a copy (deepClone) and returns it.
 */
import type { ClusterReader } from '../cluster/reader';
import type { Logger } from '../logging/logger';
import type { KubeObject } from './object';
import type { ObjectRef } from './resources';
import type { Backup, Restore } from './velero';

export interface ActionDeps {
    cluster: ClusterReader;
    log: Logger;
}

/** Which items an action applies to, in Velero's AppliesTo vocabulary. */
export interface Applicability {
    includedResources: string[];
    /** A label selector in kubectl syntax, matched by Velero before Execute. */
    selector?: string;
}

export interface BackupInput {
    item: KubeObject;
    backup: Backup;
}

export interface BackupOutput {
    item?: KubeObject;
    additionalItems: ObjectRef[];
}

export interface RestoreInput {
    item: KubeObject;
    itemFromBackup: KubeObject;
    restore: Restore;
}

export interface RestoreOutput {
    item?: KubeObject;
    additionalItems: ObjectRef[];
    skipRestore: boolean;
}

export interface BackupActionSpec {
    name: string;
    appliesTo: Applicability;
    execute(input: BackupInput, deps: ActionDeps): Promise<BackupOutput>;
}

export interface RestoreActionSpec {
    name: string;
    appliesTo: Applicability;
    execute(input: RestoreInput, deps: ActionDeps): Promise<RestoreOutput>;
}

export interface ItemBlockActionSpec {
    name: string;
    appliesTo: Applicability;
    relatedItems(input: BackupInput, deps: ActionDeps): Promise<ObjectRef[]>;
}

export const PLUGIN_PREFIX = 'kubevirt-velero-plugin';
