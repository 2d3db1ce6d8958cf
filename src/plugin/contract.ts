/**
 * The action contract: what an action declares, what its core receives and what it returns. One
 * place, read with src/plugin/adapter.ts (which runs cores under this contract) and src/plugin/actions.ts
 * (the list). The protocol's own wire-level contract is src/protocol/types.ts (bytes, no KubeVirt);
 * the cluster reads a core may make are src/cluster/reader.ts (ClusterReader), the namespace view of
 * the graph is src/graph/view.ts (ClusterView).
 *
 * The adapter, not the core:
 *  - decodes the bytes and checks the item's kind and API group against `appliesTo.kinds`;
 *  - for backup actions with `requiresBackup`, refuses a call without a Backup;
 *  - parses the options of the call once (src/plugin/options.ts);
 *  - writes the one start-of-call log line (debug);
 *  - decides whether the item changed: a core always returns its item, the same object when it has
 *    nothing to change, or a copy (deepClone) it changed; it never mutates its input and never compares.
 *    The adapter sends the request bytes back when the returned item serialises as the input did.
 */
import type { ClusterReader } from '../cluster/reader';
import type { KubeObject } from '../kube/object';
import type { ObjectRef } from '../kube/resources';
import type { Backup, Restore } from '../kube/velero';
import type { Logger } from '../logging/logger';
import type { BackupOptions, RestoreOptions } from './options';

export type { BackupOptions, RestoreOptions } from './options';

/** The DNS subdomain of every action name: `kubevirt-velero-plugin/<action>`. */
export const PLUGIN_PREFIX = 'kubevirt-velero-plugin';

/** What a core may use besides its input: cluster reads (lazy, cached per process) and the call's logger. */
export interface ActionDeps {
    cluster: ClusterReader;
    log: Logger;
}

/** A kind an action handles: the Kubernetes kind and, when given, the API group ('' is the core group). */
export interface KindRule {
    kind: string;
    group?: string;
}

/** Which items an action applies to. */
export interface Applicability {
    /** Velero's AppliesTo: resources ("virtualmachines.kubevirt.io", "pods"). */
    includedResources: string[];
    /** A label selector in kubectl syntax, matched by Velero before Execute. */
    selector?: string;
    /**
     * The kinds the core handles, checked by the adapter before the core runs. Absent: any kind (the
     * core decides). Backup item actions also need a named object of a handled kind.
     */
    kinds?: readonly KindRule[];
    /**
     * An item of another kind: 'reject' fails it (InvalidItem "expected a <kind>, got kind ..."), 'skip'
     * answers without running the core (backup: the item unchanged and no additional items; ItemBlock:
     * no related items).
     */
    otherKinds?: 'reject' | 'skip';
}

export interface BackupInput {
    item: KubeObject;
    backup: Backup;
    options: BackupOptions;
}

export interface BackupOutput {
    /** The item to store: `item` of the input when nothing changed, else a changed copy. */
    item: KubeObject;
    additionalItems: ObjectRef[];
}

export interface RestoreInput {
    item: KubeObject;
    /** The item as it was backed up, decoded on first read (a VM is the largest item there is). */
    readonly itemFromBackup: KubeObject;
    restore: Restore;
    options: RestoreOptions;
}

export interface RestoreOutput {
    /** The item to create: `item` of the input when nothing changed, else a changed copy. */
    item: KubeObject;
    additionalItems: ObjectRef[];
    skipRestore: boolean;
}

interface Declared {
    /** `kubevirt-velero-plugin/<action>`. */
    name: string;
    appliesTo: Applicability;
}

export interface BackupAction extends Declared {
    /** Refuse a call without a Backup (InvalidItem 'backup object nil!', as the Go plugin). */
    requiresBackup: boolean;
    execute(input: BackupInput, deps: ActionDeps): Promise<BackupOutput>;
}

export interface RestoreAction extends Declared {
    execute(input: RestoreInput, deps: ActionDeps): Promise<RestoreOutput>;
}

export interface ItemBlockAction extends Declared {
    relatedItems(input: BackupInput, deps: ActionDeps): Promise<ObjectRef[]>;
}
