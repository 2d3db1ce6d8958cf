import { PLUGIN_PREFIX, type RestoreAction } from '../plugin/contract';

/**
 * KubeVirt recreates launcher and hotplug-attachment pods; restoring them would only leave orphans
 * behind. Every pod labelled `kubevirt.io in (virt-launcher, hotplug-disk)` is skipped, as in the Go
 * plugin; ownership is not checked (no other component sets these label values, and a launcher pod
 * restored without its VMI could never run anyway).
 */
export const podRestoreAction: RestoreAction = {
    name: `${PLUGIN_PREFIX}/restore-pod-action`,
    appliesTo: { includedResources: ['pods'], selector: 'kubevirt.io in (virt-launcher, hotplug-disk)' },
    async execute({ item }, deps) {
        deps.log.info("Pod is a KubeVirt launcher or hotplug pod, it doesn't need to be restored");
        return { item, additionalItems: [], skipRestore: true };
    },
};
