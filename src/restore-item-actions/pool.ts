/**
 * restore-virtualmachinepool-action (new): the pool's VM template follows the namespace mapping (its
 * dataVolumeTemplates sources and multus networks, as for a VM), and what the pool's VMs need —
 * recorded at backup: their DataVolumes, PVCs, secrets, ... — is restored first as additional items,
 * so the VMs the pool recreates find their disks. The VMs themselves are not restored while the pool
 * is there (restore-vm-action skips them): see docs/decisions/009-vm-pools.md.
 */
import { poolRestoreGraph } from '../graph/index';
import { embeddedVmRestoreAction } from './common';

export const vmPoolRestoreAction = embeddedVmRestoreAction({
    action: 'restore-virtualmachinepool-action',
    resource: 'virtualmachinepools.pool.kubevirt.io',
    vmSpecPath: ['spec', 'virtualMachineTemplate', 'spec'],
    graph: poolRestoreGraph,
});
