/** Label and annotation keys the plugin reads or writes on items (values required for compatibility). */
export const ANN = {
    prePopulated: 'cdi.kubevirt.io/storage.prePopulated',
    populatedFor: 'cdi.kubevirt.io/storage.populatedFor',
    inProgress: 'kvp.kubevirt.io/storage.inprogress',
    isOwned: 'cdi.kubevirt.io/velero.isOwned',
    originalPvcUid: 'velero.kubevirt.io/original-pvc-uid',
    originalVolumeSnapshotUid: 'velero.kubevirt.io/original-volumesnapshot-uid',
    backupConsistency: 'velero.kubevirt.io/backup-consistency',
    /** The restore graph seen at backup time (src/graph/record.ts). */
    restoreGraph: 'velero.kubevirt.io/restore-graph',
    domain: 'kubevirt.io/domain',
    skipBackupHooks: 'kubevirt.io/skip-backup-hooks',
    preHookCommand: 'pre.hook.backup.velero.io/command',
    preHookContainer: 'pre.hook.backup.velero.io/container',
    postHookCommand: 'post.hook.backup.velero.io/command',
    postHookContainer: 'post.hook.backup.velero.io/container',
    mustIncludeAdditionalItems: 'backup.velero.io/must-include-additional-items',
} as const;

export const LABEL = {
    pvcUid: 'velero.kubevirt.io/pvc-uid',
    vmName: 'velero.kubevirt.io/vm',
    exclude: 'velero.io/exclude-from-backup',
    kubevirt: 'kubevirt.io',
    createdBy: 'kubevirt.io/created-by',
    vmReplicaSet: 'kubevirt.io/vmReplicaSet',
    persistentStateFor: 'persistent-state-for',
} as const;

/** VMI labels KubeVirt reserves; a restored standalone VMI must not carry them. */
export const RESTRICTED_VMI_LABELS = [
    'kubevirt.io/created-by',
    'kubevirt.io/migrationJobUID',
    'kubevirt.io/nodeName',
    'kubevirt.io/migrationTargetNodeName',
    'kubevirt.io/schedulable',
    'kubevirt.io/install-strategy',
] as const;
