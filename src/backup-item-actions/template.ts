/**
 * backup-virtualmachinetemplate-action (new; upstream has only an open PR, #453): a
 * VirtualMachineTemplate (template.kubevirt.io, any version) brings the storage that VMs created from
 * it start from — the DataVolumes, PVCs and VolumeSnapshots of its namespace that the embedded VM's
 * dataVolumeTemplates clone and that its volumes share (src/graph/template.ts). The same list is
 * recorded on the item for the restore action (the DataVolume owning a PVC cannot be seen once the
 * namespace is gone). VirtualMachineTemplateRequests need no backup action: Velero backs them up as
 * they are, and the restore action skips them.
 */
import { templateSourceGraph } from '../graph/index';
import { KIND, R } from '../kube/resources';
import { recordingBackupAction } from './common';

export const vmTemplateBackupAction = recordingBackupAction({
    action: 'backup-virtualmachinetemplate-action',
    resource: 'virtualmachinetemplates.template.kubevirt.io',
    kind: KIND.vmTemplate,
    group: R.vmTemplates.group,
    required: [['spec'], ['spec', 'virtualMachine']],
    needs: [R.pvcs, R.dataVolumes],
    related: templateSourceGraph,
    recorded: (_item, _view, related) => related,
});
