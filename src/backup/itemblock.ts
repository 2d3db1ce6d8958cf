/**
 * block-vm-action (ItemBlockAction): puts a VM's VMI, launcher pod(s), DataVolumes, PVCs and TPM/EFI
 * state PVC into the VM's ItemBlock, so that Velero runs the launcher pods' freeze hook before the
 * volumes are snapshotted and the thaw hook after. Applies to VMs, standalone VMIs (no VM owner) and
 * VMIRSs. A VMI owned by a VM returns nothing: the VM's block already holds it.
 *
 * An ItemBlockAction error only makes Velero skip the action for that item and mark the backup
 * PartiallyFailed; a missing grouping merely loses the hook ordering. So a failure to compute the
 * graph (malformed item) degrades to no related items with a warning. Errors of the cluster reader
 * (Forbidden, Cluster, NoCluster) propagate: the operator must see them, and the item actions would
 * fail on them anyway.
 */
import { errorMessage, PluginError } from '../errors';
import { itemBlockGraph } from '../graph/index';
import { PLUGIN_PREFIX, type ItemBlockActionSpec } from '../kube/action';
import { isRecord, nameOf, namespaceOf } from '../kube/object';
import type { ObjectRef } from '../kube/resources';
import { KIND, loadBackupView, nsName, vmOwner } from './common';

const BLOCK_KINDS: ReadonlySet<string> = new Set([KIND.vm, KIND.vmi, KIND.vmirs]);
const CLUSTER_REASONS: ReadonlySet<string> = new Set(['Forbidden', 'Cluster', 'NoCluster']);

export const vmItemBlockAction: ItemBlockActionSpec = {
    name: `${PLUGIN_PREFIX}/block-vm-action`,
    appliesTo: {
        includedResources: [
            'virtualmachines.kubevirt.io',
            'virtualmachineinstances.kubevirt.io',
            'virtualmachineinstancereplicasets.kubevirt.io',
        ],
    },
    async relatedItems({ item }, { cluster, log }): Promise<ObjectRef[]> {
        const kind = item.kind ?? '';
        if (!BLOCK_KINDS.has(kind)) {
            log.debug(`block-vm-action: kind ${kind} has no ItemBlock of its own`);
            return [];
        }
        if (!isRecord(item.metadata) || !nameOf(item)) {
            log.warn(`${kind} without metadata.name: no related items`);
            return [];
        }
        if (kind === KIND.vmi && vmOwner(item)) {
            log.debug(`VMI ${nsName(item)} is owned by a VM; the VM's ItemBlock holds it`);
            return [];
        }
        const view = await loadBackupView(cluster, namespaceOf(item));
        try {
            const related = itemBlockGraph(item, view);
            log.debug(`${kind} ${nsName(item)}: ${related.length} related items`);
            return related;
        } catch (error) {
            if (error instanceof PluginError && CLUSTER_REASONS.has(error.reason)) throw error;
            log.warn(`Failed to compute the ItemBlock of ${kind} ${nsName(item)}: ${errorMessage(error)}; no related items`);
            return [];
        }
    },
};
