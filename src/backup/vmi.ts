import { PLUGIN_PREFIX, type BackupActionSpec } from '../kube/action';

/** Placeholder until the action lands: applies to the real resources, changes nothing. */
export const vmiBackupAction: BackupActionSpec = {
    name: `${PLUGIN_PREFIX}/backup-virtualmachineinstance-action`,
    appliesTo: { includedResources: ['virtualmachineinstances.kubevirt.io'] },
    async execute() {
        return { additionalItems: [] };
    },
};
