import { PLUGIN_PREFIX, type RestoreActionSpec } from '../kube/action';

/** Placeholder until the action lands: applies to the real resources, changes nothing. */
export const vmRestoreAction: RestoreActionSpec = {
    name: `${PLUGIN_PREFIX}/restore-vm-action`,
    appliesTo: { includedResources: ['virtualmachines.kubevirt.io'] },
    async execute() {
        return { additionalItems: [] , skipRestore: false };
    },
};
