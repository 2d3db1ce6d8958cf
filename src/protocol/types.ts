/**
 * What the protocol layer exchanges with the actions. These types speak Velero's wire vocabulary only
 * (bytes, resource identifiers, selectors); nothing here knows about KubeVirt.
 */
import type { Logger } from '../logging/logger';

export interface ResourceIdentifier {
    group: string;
    resource: string;
    namespace: string;
    name: string;
}

export interface ResourceSelector {
    includedNamespaces?: string[];
    excludedNamespaces?: string[];
    includedResources?: string[];
    excludedResources?: string[];
    selector?: string;
}

/** Kinds this binary may list. Only v2 item actions are registered (docs/decisions/001). */
export type ActionKind = 'BackupItemActionV2' | 'RestoreItemActionV2' | 'ItemBlockAction';

export interface CallContext {
    /** Logger bound to the plugin name of the call. */
    log: Logger;
}

export interface BackupExecuteRequest {
    item: Buffer;
    backup: Buffer;
}

export interface BackupExecuteResult {
    /** The item to store: the request bytes when the action changed nothing. */
    item: Buffer;
    additionalItems: ResourceIdentifier[];
}

export interface RestoreExecuteRequest {
    item: Buffer;
    restore: Buffer;
    itemFromBackup: Buffer;
}

export interface RestoreExecuteResult {
    item: Buffer;
    additionalItems: ResourceIdentifier[];
    skipRestore: boolean;
    /** Ask Velero to wait until AreAdditionalItemsReady says yes (v2 only). */
    waitForAdditionalItems?: boolean;
}

export interface RelatedItemsRequest {
    item: Buffer;
    backup: Buffer;
}

interface Declared<K extends ActionKind> {
    kind: K;
    /** `<DNS subdomain>/<name>`, e.g. kubevirt-velero-plugin/backup-virtualmachine-action */
    name: string;
    selector: ResourceSelector;
}

export interface BackupItemActionDeclaration extends Declared<'BackupItemActionV2'> {
    execute(request: BackupExecuteRequest, context: CallContext): Promise<BackupExecuteResult>;
}

export interface RestoreItemActionDeclaration extends Declared<'RestoreItemActionV2'> {
    execute(request: RestoreExecuteRequest, context: CallContext): Promise<RestoreExecuteResult>;
}

export interface ItemBlockActionDeclaration extends Declared<'ItemBlockAction'> {
    relatedItems(request: RelatedItemsRequest, context: CallContext): Promise<ResourceIdentifier[]>;
}

export type ActionDeclaration = BackupItemActionDeclaration | RestoreItemActionDeclaration | ItemBlockActionDeclaration;
