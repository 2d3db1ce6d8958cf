/**
 * backup-virtualmachinepool-action (new): a VirtualMachinePool (pool.kubevirt.io) brings its VMs (the
 * VMs it controls; Velero then runs the VM backup action on each, which brings their DataVolumes,
 * PVCs, VMIs and the rest) and what its VM template refers to. It records on the item what a restore
 * of the pool needs before the pool starts recreating its VMs: the VMs' restore graphs. See
 * docs/decisions/009-vm-pools.md.
 */
import { poolBackupGraph, poolRestoreGraph } from '../graph/index';
import { KIND, R } from '../kube/resources';
import { recordingBackupAction } from './common';

export const vmPoolBackupAction = recordingBackupAction({
    action: 'backup-virtualmachinepool-action',
    resource: 'virtualmachinepools.pool.kubevirt.io',
    kind: KIND.vmPool,
    group: R.vmPools.group,
    required: [['spec']],
    needs: [R.vms, R.pvcs],
    related: poolBackupGraph,
    recorded: (item, view) => poolRestoreGraph(item, view),
});
