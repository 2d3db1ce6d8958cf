/**
 * VirtualMachineTemplates and VirtualMachineTemplateRequests (template.kubevirt.io, any version).
 *
 * restore-virtualmachinetemplate-action: under namespace mapping, the embedded VM's
 * dataVolumeTemplates sources (source.pvc / source.snapshot / sourceRef namespaces) and multus network
 * names follow the mapping, as for a VM; the source objects recorded at backup come back first as
 * additional items.
 *
 * restore-virtualmachinetemplaterequest-action: a request is a one-shot order to snapshot a VM and
 * create a template from it. Restored, the template controller would run it again (a new snapshot, new
 * DataVolumes, and a template that collides with the restored one), so it is always skipped; the
 * template it created is an object of its own and is restored from the backup like any other.
 */
import { templateSourceGraph } from '../graph/index';
import { PLUGIN_PREFIX, type RestoreActionSpec } from '../kube/action';
import { deepClone } from '../kube/json';
import { describe, pathGet } from '../kube/object';
import { changed, restoreAdditionalItems } from './common';
import { logRewrites, namespaceMappingOf, rewriteDataVolumeTemplates, rewriteNetworks } from './namespacemap';

export const vmTemplateRestoreAction: RestoreActionSpec = {
    name: `${PLUGIN_PREFIX}/restore-virtualmachinetemplate-action`,
    appliesTo: { includedResources: ['virtualmachinetemplates.template.kubevirt.io'] },
    async execute({ item, restore }, deps) {
        deps.log.info('Executing VirtualMachineTemplateRestoreItemAction');
        const mapping = namespaceMappingOf(restore);
        const out = deepClone(item);
        const vmSpec = pathGet(out, ['spec', 'virtualMachine', 'spec']);
        logRewrites(deps.log, describe(item), [
            ...rewriteDataVolumeTemplates(vmSpec, mapping, 'spec.virtualMachine.spec'),
            ...rewriteNetworks(pathGet(vmSpec, ['template', 'spec']), mapping, 'spec.virtualMachine.spec.template.spec'),
        ]);
        const additionalItems = await restoreAdditionalItems(item, out, (view) => templateSourceGraph(item, view), undefined, deps);
        return { ...(changed(item, out) ? { item: out } : {}), additionalItems, skipRestore: false };
    },
};

export const vmTemplateRequestRestoreAction: RestoreActionSpec = {
    name: `${PLUGIN_PREFIX}/restore-virtualmachinetemplaterequest-action`,
    appliesTo: { includedResources: ['virtualmachinetemplaterequests.template.kubevirt.io'] },
    async execute({ item }, deps) {
        deps.log.info(
            `Skipping ${describe(item)}: a template request runs once, and restoring it would make the template controller ` +
                'snapshot the VM and create the template again; the VirtualMachineTemplate it created is restored from the backup on its own',
        );
        return { additionalItems: [], skipRestore: true };
    },
};
