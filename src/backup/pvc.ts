import { PLUGIN_PREFIX, type BackupActionSpec } from '../kube/action';

/** Placeholder until the action lands: applies to the real resources, changes nothing. */
export const pvcBackupAction: BackupActionSpec = {
    name: `${PLUGIN_PREFIX}/backup-pvc-action`,
    appliesTo: { includedResources: ['persistentvolumeclaims'] },
    async execute() {
        return { additionalItems: [] };
    },
};
