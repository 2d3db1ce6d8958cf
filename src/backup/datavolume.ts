import { PLUGIN_PREFIX, type BackupActionSpec } from '../kube/action';

/** Placeholder until the action lands: applies to the real resources, changes nothing. */
export const dataVolumeBackupAction: BackupActionSpec = {
    name: `${PLUGIN_PREFIX}/backup-datavolume-action`,
    appliesTo: { includedResources: ['persistentvolumeclaims', 'datavolumes.cdi.kubevirt.io'] },
    async execute() {
        return { additionalItems: [] };
    },
};
