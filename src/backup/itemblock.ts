import { PLUGIN_PREFIX, type ItemBlockActionSpec } from '../kube/action';

/** Placeholder until the action lands: groups nothing. */
export const vmItemBlockAction: ItemBlockActionSpec = {
    name: `${PLUGIN_PREFIX}/block-vm-action`,
    appliesTo: {
        includedResources: [
            'virtualmachines.kubevirt.io',
            'virtualmachineinstances.kubevirt.io',
            'virtualmachineinstancereplicasets.kubevirt.io',
        ],
    },
    async relatedItems() {
        return [];
    },
};
