import { PLUGIN_PREFIX, type RestoreActionSpec } from '../kube/action';

/** KubeVirt recreates launcher and hotplug pods; restoring them would only leave orphans behind. */
export const podRestoreAction: RestoreActionSpec = {
    name: `${PLUGIN_PREFIX}/restore-pod-action`,
    appliesTo: { includedResources: ['pods'], selector: 'kubevirt.io in (virt-launcher, hotplug-disk)' },
    async execute() {
        return { additionalItems: [], skipRestore: true };
    },
};
