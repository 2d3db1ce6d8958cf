/**
 * backup-virtualmachinepool-action (new): a VirtualMachinePool (pool.kubevirt.io) brings its VMs (the
 * VMs it controls; Velero then runs the VM backup action on each, which brings their DataVolumes,
 * PVCs, VMIs and the rest) and what its VM template refers to. It records on the item what a restore
 * of the pool needs before the pool starts recreating its VMs: the VMs' restore graphs. See
 * docs/decisions/009-vm-pools.md.
 */
import { loadView } from '../cluster/view';
import { encodeRefs, poolBackupGraph, poolRestoreGraph } from '../graph/index';
import { ANN } from '../kube/annotations';
import { PLUGIN_PREFIX, type BackupActionSpec } from '../kube/action';
import { deepClone } from '../kube/json';
import { namespaceOf } from '../kube/object';
import { KIND, R } from '../kube/resources';
import { nsName, requireBackup, requireKind, requireRecord, setAnnotationIfChanged } from './common';

export const vmPoolBackupAction: BackupActionSpec = {
    name: `${PLUGIN_PREFIX}/backup-virtualmachinepool-action`,
    appliesTo: { includedResources: ['virtualmachinepools.pool.kubevirt.io'] },
    async execute({ item, backup }, { cluster, log }) {
        log.debug('Executing VirtualMachinePoolBackupItemAction');
        requireBackup(backup);
        requireKind(item, KIND.vmPool, R.vmPools.group);
        requireRecord(item, ['spec']);
        const view = await loadView(cluster, namespaceOf(item), [R.vms, R.pvcs]);
        const additionalItems = poolBackupGraph(item, view);
        log.debug(`VirtualMachinePool ${nsName(item)}: ${additionalItems.length} related objects`);
        const out = deepClone(item);
        return setAnnotationIfChanged(out, ANN.restoreGraph, encodeRefs(poolRestoreGraph(item, view)))
            ? { item: out, additionalItems }
            : { additionalItems };
    },
};
