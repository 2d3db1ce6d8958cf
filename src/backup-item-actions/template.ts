/**
 * backup-virtualmachinetemplate-action (new; upstream has only an open PR, #453): a
 * VirtualMachineTemplate (template.kubevirt.io, any version) brings the storage that VMs created from
 * it start from — the DataVolumes, PVCs and VolumeSnapshots of its namespace that the embedded VM's
 * dataVolumeTemplates clone and that its volumes share (src/graph/template.ts). The same list is
 * recorded on the item for the restore action (the DataVolume owning a PVC cannot be seen once the
 * namespace is gone). VirtualMachineTemplateRequests need no backup action: Velero backs them up as
 * they are, and the restore action skips them.
 */
import { loadView } from '../cluster/view';
import { encodeRefs, templateSourceGraph } from '../graph/index';
import { ANN } from '../kube/annotations';
import { PLUGIN_PREFIX, type BackupActionSpec } from '../kube/action';
import { deepClone } from '../kube/json';
import { namespaceOf } from '../kube/object';
import { KIND, R } from '../kube/resources';
import { nsName, requireBackup, requireKind, requireRecord, setAnnotationIfChanged } from './common';

export const vmTemplateBackupAction: BackupActionSpec = {
    name: `${PLUGIN_PREFIX}/backup-virtualmachinetemplate-action`,
    appliesTo: { includedResources: ['virtualmachinetemplates.template.kubevirt.io'] },
    async execute({ item, backup }, { cluster, log }) {
        log.debug('Executing VirtualMachineTemplateBackupItemAction');
        requireBackup(backup);
        requireKind(item, KIND.vmTemplate, R.vmTemplates.group);
        requireRecord(item, ['spec']);
        requireRecord(item, ['spec', 'virtualMachine']);
        const view = await loadView(cluster, namespaceOf(item), [R.pvcs, R.dataVolumes]);
        const additionalItems = templateSourceGraph(item, view);
        log.debug(`VirtualMachineTemplate ${nsName(item)}: ${additionalItems.length} source objects`);
        const out = deepClone(item);
        return setAnnotationIfChanged(out, ANN.restoreGraph, encodeRefs(additionalItems)) ? { item: out, additionalItems } : { additionalItems };
    },
};
