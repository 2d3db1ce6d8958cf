/**
 * The fields of Velero's Backup and Restore objects the plugin reads. Velero sends them as JSON; only
 * these fields are typed, the rest is ignored.
 */
import type { KubeObject } from './object';

export interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface BackupSpec {
    includedNamespaces?: string[];
    excludedNamespaces?: string[];
    includedResources?: string[];
    excludedResources?: string[];
    includedClusterScopedResources?: string[];
    excludedClusterScopedResources?: string[];
    includedNamespaceScopedResources?: string[];
    excludedNamespaceScopedResources?: string[];
    includeClusterResources?: boolean | null;
    labelSelector?: LabelSelector | null;
    orLabelSelectors?: LabelSelector[] | null;
    snapshotVolumes?: boolean | null;
    defaultVolumesToFsBackup?: boolean | null;
    [key: string]: unknown;
}

export interface Backup extends KubeObject {
    spec?: BackupSpec;
}

export interface RestoreSpec {
    backupName?: string;
    includedNamespaces?: string[];
    excludedNamespaces?: string[];
    includedResources?: string[];
    excludedResources?: string[];
    namespaceMapping?: Record<string, string>;
    labelSelector?: LabelSelector | null;
    orLabelSelectors?: LabelSelector[] | null;
    [key: string]: unknown;
}

export interface Restore extends KubeObject {
    spec?: RestoreSpec;
}
