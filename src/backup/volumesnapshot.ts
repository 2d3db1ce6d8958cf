import { PLUGIN_PREFIX, type BackupActionSpec } from '../kube/action';

/** Placeholder until the action lands: applies to the real resources, changes nothing. */
export const volumeSnapshotBackupAction: BackupActionSpec = {
    name: `${PLUGIN_PREFIX}/backup-volumesnapshot-action`,
    appliesTo: { includedResources: ['volumesnapshots.snapshot.storage.k8s.io'] },
    async execute() {
        return { additionalItems: [] };
    },
};
