import { PLUGIN_PREFIX, type BackupActionSpec } from '../kube/action';

/** Placeholder until the action lands: applies to the real resources, changes nothing. */
export const vmBackupAction: BackupActionSpec = {
    name: `${PLUGIN_PREFIX}/backup-virtualmachine-action`,
    appliesTo: { includedResources: ['virtualmachines.kubevirt.io'] },
    async execute() {
        return { additionalItems: [] };
    },
};
