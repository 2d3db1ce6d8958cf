import { PLUGIN_PREFIX, type RestoreActionSpec } from '../kube/action';

/** Placeholder until the action lands: applies to the real resources, changes nothing. */
export const vmiRestoreAction: RestoreActionSpec = {
    name: `${PLUGIN_PREFIX}/restore-vmi-action`,
    appliesTo: { includedResources: ['virtualmachineinstances.kubevirt.io'] },
    async execute() {
        return { additionalItems: [] , skipRestore: false };
    },
};
