/**
 * restore-virtualmachinepool-action (new): the pool's VM template follows the namespace mapping (its
 * dataVolumeTemplates sources and multus networks, as for a VM), and what the pool's VMs need —
 * recorded at backup: their DataVolumes, PVCs, secrets, ... — is restored first as additional items,
 * so the VMs the pool recreates find their disks. The VMs themselves are not restored while the pool
 * is there (restore-vm-action skips them): see docs/decisions/009-vm-pools.md.
 */
import { poolRestoreGraph } from '../graph/index';
import { PLUGIN_PREFIX, type RestoreActionSpec } from '../kube/action';
import { deepClone } from '../kube/json';
import { describe, pathGet } from '../kube/object';
import { changed, restoreAdditionalItems } from './common';
import { logRewrites, namespaceMappingOf, rewriteDataVolumeTemplates, rewriteNetworks } from './namespacemap';

export const vmPoolRestoreAction: RestoreActionSpec = {
    name: `${PLUGIN_PREFIX}/restore-virtualmachinepool-action`,
    appliesTo: { includedResources: ['virtualmachinepools.pool.kubevirt.io'] },
    async execute({ item, restore }, deps) {
        deps.log.info('Executing VirtualMachinePoolRestoreItemAction');
        const mapping = namespaceMappingOf(restore);
        const out = deepClone(item);
        const vmSpec = pathGet(out, ['spec', 'virtualMachineTemplate', 'spec']);
        logRewrites(deps.log, describe(item), [
            ...rewriteDataVolumeTemplates(vmSpec, mapping, 'spec.virtualMachineTemplate.spec'),
            ...rewriteNetworks(pathGet(vmSpec, ['template', 'spec']), mapping, 'spec.virtualMachineTemplate.spec.template.spec'),
        ]);
        // No cluster read: without a recording, the VMs (and so their state PVCs) are unknown anyway.
        const additionalItems = await restoreAdditionalItems(item, out, (view) => poolRestoreGraph(item, view), undefined, deps);
        return { ...(changed(item, out) ? { item: out } : {}), additionalItems, skipRestore: false };
    },
};
