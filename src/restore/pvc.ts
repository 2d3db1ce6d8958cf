import { PLUGIN_PREFIX, type RestoreActionSpec } from '../kube/action';

/** Placeholder until the action lands: applies to the real resources, changes nothing. */
export const pvcRestoreAction: RestoreActionSpec = {
    name: `${PLUGIN_PREFIX}/restore-pvc-action`,
    appliesTo: { includedResources: ['persistentvolumeclaims'] },
    async execute() {
        return { additionalItems: [] , skipRestore: false };
    },
};
