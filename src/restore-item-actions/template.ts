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
import { describe } from '../kube/object';
import { PLUGIN_PREFIX, type RestoreAction } from '../plugin/contract';
import { embeddedVmRestoreAction } from './common';

export const vmTemplateRestoreAction = embeddedVmRestoreAction({
    action: 'restore-virtualmachinetemplate-action',
    resource: 'virtualmachinetemplates.template.kubevirt.io',
    vmSpecPath: ['spec', 'virtualMachine', 'spec'],
    graph: templateSourceGraph,
});

export const vmTemplateRequestRestoreAction: RestoreAction = {
    name: `${PLUGIN_PREFIX}/restore-virtualmachinetemplaterequest-action`,
    appliesTo: { includedResources: ['virtualmachinetemplaterequests.template.kubevirt.io'] },
    async execute({ item }, deps) {
        deps.log.info(
            `Skipping ${describe(item)}: a template request runs once, and restoring it would make the template controller ` +
                'snapshot the VM and create the template again; the VirtualMachineTemplate it created is restored from the backup on its own',
        );
        return { item, additionalItems: [], skipRestore: true };
    },
};
