/**
 * DataVolumes (new; the Go plugin has no DataVolume restore action): the change-storage-class ConfigMap
 * applied to spec.pvc / spec.storage, and source namespaces rewritten under namespace mapping. The
 * prePopulated annotation set at backup is left alone, so CDI adopts the restored PVC instead of
 * importing again. No additional items: the VM and VMI restore graphs already name each DataVolume's PVC.
 */
import { deepClone } from '../kube/json';
import { describe, pathGet } from '../kube/object';
import { PLUGIN_PREFIX, type RestoreAction } from '../plugin/contract';
import { dataVolumeSpecNeedsRewrite, logRewrites, rewriteDataVolumeSpec } from './namespacemap';
import { dataVolumeStorageClassFields, planStorageClassRemaps, remapStorageClasses } from './storageclass';

export const dataVolumeRestoreAction: RestoreAction = {
    name: `${PLUGIN_PREFIX}/restore-datavolume-action`,
    appliesTo: { includedResources: ['datavolumes.cdi.kubevirt.io'] },
    async execute({ item, options }, deps) {
        const mapping = options.namespaceMapping;
        // Most DataVolumes need nothing: the item goes back as it came (the adapter then answers with the
        // request's own bytes), without a copy. The plan reads the ConfigMap as the remap below would.
        const original = pathGet(item, ['spec']);
        const remaps = await planStorageClassRemaps(dataVolumeStorageClassFields(original, 'spec'), deps.cluster, options.veleroNamespace);
        if (remaps.length === 0 && !dataVolumeSpecNeedsRewrite(original, mapping)) return { item, additionalItems: [], skipRestore: false };
        const dv = deepClone(item);
        const what = describe(item);
        const spec = pathGet(dv, ['spec']);
        await remapStorageClasses(dataVolumeStorageClassFields(spec, 'spec'), deps.cluster, deps.log, what, options.veleroNamespace);
        logRewrites(deps.log, what, rewriteDataVolumeSpec(spec, mapping, 'spec'));
        return { item: dv, additionalItems: [], skipRestore: false };
    },
};
