/**
 * block-vm-action (ItemBlockAction): puts a VM's VMI, launcher pod(s), DataVolumes, PVCs and TPM/EFI
 * state PVC into the VM's ItemBlock, so that Velero runs the launcher pods' freeze hook before the
 * volumes are snapshotted and the thaw hook after. Applies to VMs, standalone VMIs (no VM owner) and
 * VMIRSs. A VMI owned by a VM returns nothing: the VM's block already holds it.
 *
 * block-launcher-pod-action (ItemBlockAction): the same grouping seen from the pods. In a namespace
 * backup Velero collects pods first, so a launcher pod opens the block its hooks wrap; this action puts
 * its VM, VMI and their volumes into that block (and a hotplug attachment pod's launcher pod with them).
 *
 * An ItemBlockAction error only makes Velero skip the action for that item and mark the backup
 * PartiallyFailed; a missing grouping merely loses the hook ordering. So a failure to compute the
 * graph (malformed item) degrades to no related items with a warning. Errors of the cluster reader
 * (Forbidden, Cluster, NoCluster) propagate: the operator must see them, and the item actions would
 * fail on them anyway.
 */
import { errorMessage, PluginError } from '../errors';
import { itemBlockGraph, podItemBlockGraph, type ClusterView } from '../graph/index';
import { PLUGIN_PREFIX, type ActionDeps, type ItemBlockAction } from '../plugin/contract';
import { describe, isRecord, nameOf, namespaceOf, vmOwner, type KubeObject } from '../kube/object';
import type { ObjectRef } from '../kube/resources';
import { KIND, loadBackupView } from '../backup-item-actions/common';

const CLUSTER_REASONS: ReadonlySet<string> = new Set(['Forbidden', 'Cluster', 'NoCluster']);

/** Computes a block with the namespace view; a malformed item degrades to no related items (see above). */
async function blockOf(item: KubeObject, { cluster, log }: ActionDeps, graph: (obj: KubeObject, view: ClusterView) => ObjectRef[]): Promise<ObjectRef[]> {
    const view = await loadBackupView(cluster, namespaceOf(item));
    try {
        const related = graph(item, view);
        log.debug(`${describe(item)}: ${related.length} related items`);
        return related;
    } catch (error) {
        if (error instanceof PluginError && CLUSTER_REASONS.has(error.reason)) throw error;
        log.warn(`Failed to compute the ItemBlock of ${describe(item)}: ${errorMessage(error)}; no related items`);
        return [];
    }
}

export const vmItemBlockAction: ItemBlockAction = {
    name: `${PLUGIN_PREFIX}/block-vm-action`,
    appliesTo: {
        includedResources: ['virtualmachines.kubevirt.io', 'virtualmachineinstances.kubevirt.io', 'virtualmachineinstancereplicasets.kubevirt.io'],
        // Any API group, as before: the kind decides.
        kinds: [{ kind: KIND.vm }, { kind: KIND.vmi }, { kind: KIND.vmirs }],
        otherKinds: 'skip',
    },
    async relatedItems({ item }, { cluster, log }): Promise<ObjectRef[]> {
        const kind = item.kind ?? '';
        if (!isRecord(item.metadata) || !nameOf(item)) {
            log.warn(`${kind} without metadata.name: no related items`);
            return [];
        }
        if (kind === KIND.vmi && vmOwner(item)) {
            log.debug(`${describe(item, 'VMI')} is owned by a VM; the VM's ItemBlock holds it`);
            return [];
        }
        return blockOf(item, { cluster, log }, itemBlockGraph);
    },
};

export const podItemBlockAction: ItemBlockAction = {
    name: `${PLUGIN_PREFIX}/block-launcher-pod-action`,
    appliesTo: {
        includedResources: ['pods'],
        selector: 'kubevirt.io in (virt-launcher, hotplug-disk)',
        kinds: [{ kind: 'Pod' }],
        otherKinds: 'skip',
    },
    async relatedItems({ item }, deps): Promise<ObjectRef[]> {
        if (!isRecord(item.metadata) || !nameOf(item)) {
            deps.log.debug(`block-launcher-pod-action: ${item.kind ?? 'item'} is not a named Pod`);
            return [];
        }
        return blockOf(item, deps, podItemBlockGraph);
    },
};
