/**
 * backup-virtualmachineinstance-action.
 *
 *  - Owned VMIs (any ownerReference: VM, VMIRS, pool) get cdi.kubevirt.io/velero.isOwned=true, so the
 *    restore action skips them: their owner recreates them. Only a KubeVirt VirtualMachine owner
 *    (kind VirtualMachine, apiVersion kubevirt.io/*) is looked up; upstream looked up a VM for any owner
 *    and failed VMIRS/pool-owned VMIs with NotFound. A VM that no longer exists counts as included.
 *  - When the owning VM is not in the backup (resource filters, exclude label, or the backup's label
 *    selector, since the VM reaches the backup only through Velero's own listing), the VMI is still
 *    marked owned (upstream left it unmarked, so it came back as a standalone VMI) and nothing else is
 *    checked or added: without its VM nothing of this VM is restorable as a VM.
 *  - A running VMI (phase Scheduled/Running and not paused; upstream: anything not paused, so a Pending
 *    or finished VMI without a pod failed) needs its launcher pods in the backup whenever PVCs are
 *    backed up. Launcher pods are every active pod of the VMI (two during a migration), not the first
 *    pod with a matching annotation. When pods and PVCs are both filtered out, nothing needs freezing and
 *    the pods are not looked up.
 *  - A VMI not owned by anyone must have its DataVolumes/PVCs in the backup (unless metadataBackup).
 *  - A VMI without a VM owner (standalone, or VMIRS/pool-owned) gets its consistency level logged and
 *    recorded, as a VM does.
 */
import { getThroughList } from '../cluster/view';
import { PluginError } from '../errors';
import { encodeRefs, launcherPods, vmiBackupGraph, vmiRestoreGraph, type ClusterView } from '../graph/index';
import { ANN, LABEL } from '../kube/annotations';
import { PLUGIN_PREFIX, type ActionDeps, type BackupAction } from '../plugin/contract';
import { deepClone } from '../kube/json';
import { KNOB } from '../kube/knobs';
import { describe, nameOf, namespaceOf, ownerReferencesOf, setAnnotation, vmOwner, type KubeObject, type OwnerReference } from '../kube/object';
import { R } from '../kube/resources';
import type { Backup } from '../kube/velero';
import type { Logger } from '../logging/logger';
import { conditionTrue, KIND, loadBackupView, requireRecord, volumesOf } from './common';
import { assessConsistency, consistencyAnnotation, guestRunning, logConsistency } from './consistency';
import { excludedByLabel, matchesBackupSelectors, resourceInBackup } from './inclusion';
import { restoreProblem } from './restorable';

const POD_MISSING = 'VM is running but launcher pod is not included in the backup';

/** Why the owning VM will not be in the backup, or undefined when it will (or no longer exists). */
async function ownerVmMissing(vmi: KubeObject, owner: OwnerReference, backup: Backup, deps: ActionDeps): Promise<string | undefined> {
    const vmName = owner.name as string;
    if (!resourceInBackup(backup, R.vms)) return "the backup's resource filters exclude virtualmachines";
    const vm = await getThroughList(deps.cluster, R.vms, namespaceOf(vmi), vmName);
    if (!vm) {
        deps.log.info(`VM ${namespaceOf(vmi)}/${vmName} owning VMI ${nameOf(vmi)} was not found; treating it as included`);
        return undefined;
    }
    if (excludedByLabel(vm)) return `VM ${vmName} has label ${LABEL.exclude}=true`;
    if (!matchesBackupSelectors(backup, vm)) return `VM ${vmName} does not match the backup's label selector`;
    return undefined;
}

/** A running VMI's launcher pods must be in the backup when its PVCs are. Throws the refusal. */
function checkLauncherPods(vmi: KubeObject, backup: Backup, view: ClusterView, log: Logger): void {
    const podsIn = resourceInBackup(backup, R.pods);
    if (!podsIn && resourceInBackup(backup, R.pvcs)) {
        throw new PluginError('Refused', `${POD_MISSING}: the backup includes PVCs but its resource filters exclude pods`);
    }
    if (!podsIn) {
        log.info(`Backup excludes pods and PVCs: launcher pod of ${describe(vmi, 'VMI')} not checked`);
        return;
    }
    const pods = launcherPods(vmi, view);
    if (pods.length === 0) {
        throw new PluginError('Refused', `pod for running VMI not found: no active virt-launcher pod of VMI ${nameOf(vmi)}`);
    }
    const excluded = pods.find(excludedByLabel);
    if (excluded) {
        throw new PluginError('Refused', `${POD_MISSING}: launcher pod ${nameOf(excluded)} has label ${LABEL.exclude}=true`);
    }
}

export const vmiBackupAction: BackupAction = {
    name: `${PLUGIN_PREFIX}/backup-virtualmachineinstance-action`,
    appliesTo: { includedResources: ['virtualmachineinstances.kubevirt.io'], kinds: [{ kind: KIND.vmi, group: 'kubevirt.io' }] },
    requiresBackup: true,
    async execute({ item, backup, options }, deps) {
        const { cluster, log } = deps;
        const spec = requireRecord(item, ['spec']);
        const volumes = volumesOf(spec, 'spec');

        const out = deepClone(item);
        const owned = ownerReferencesOf(item).length > 0;
        if (owned) setAnnotation(out, ANN.isOwned, 'true');

        const owner = vmOwner(item);
        if (owner) {
            const missing = await ownerVmMissing(item, owner, backup, deps);
            if (missing) {
                log.info(`${describe(item, 'VMI')} is owned by VM ${owner.name}, which is not in the backup (${missing}); marked owned, not checked`);
                return { item: out, additionalItems: [] };
            }
        }

        const view = await loadBackupView(cluster, namespaceOf(item));
        if (guestRunning(item) && !conditionTrue(item, 'Paused')) checkLauncherPods(item, backup, view, log);

        if (!owned) {
            if (options.metadataBackup) {
                log.info(`Backup has ${KNOB.metadataBackup}: volume restorability of ${describe(item, 'VMI')} not checked`);
            } else {
                const problem = restoreProblem(volumes, { backup, namespace: namespaceOf(item), view, log });
                if (problem) {
                    throw new PluginError('Refused', `VM has DataVolume or PVC volumes and DataVolumes/PVCs is not included in the backup: ${problem}`);
                }
            }
        }

        const additionalItems = vmiBackupGraph(item, view);

        if (!owner) {
            const consistency = assessConsistency(undefined, item, backup, view);
            logConsistency(consistency, `${describe(item, 'VMI')}`, log);
            setAnnotation(out, ANN.backupConsistency, consistencyAnnotation(consistency));
        }
        if (!owned) {
            // A standalone VMI is restored as such: record what its restore needs (src/graph/record.ts).
            setAnnotation(out, ANN.restoreGraph, encodeRefs(vmiRestoreGraph(item, view)));
        }
        return { item: out, additionalItems };
    },
};
