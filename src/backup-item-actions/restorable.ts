/**
 * Will the volumes of a VM or VMI be restorable from this backup? The Go plugin's RestorePossible:
 * volumes in order, first problem wins.
 *  - dataVolume (unless skipped, e.g. a VM's dataVolumeTemplates): the DataVolume must be in the backup
 *    (resource filters, exclude label). When the DataVolume no longer exists (garbage-collected by CDI),
 *    its PVC, of the same name, must be in the backup instead. An existing, included DataVolume is enough
 *    (its PVC is not checked, as upstream).
 *  - persistentVolumeClaim: PVCs must be admitted by the resource filters and the PVC must not carry the
 *    exclude label.
 *  - other volume types carry nothing the plugin can check.
 * DataVolumes and PVCs reach the backup as additional items of the VM/VMI, so the backup's label
 * selectors do not apply to them (see inclusion.ts).
 *
 * Difference from upstream: a referenced PVC that does not exist is not an error (upstream fails the item
 * with the raw NotFound). There is nothing to back up, and the restored VM refers to it exactly as the
 * original does; a warning says so.
 */
import { LABEL } from '../kube/annotations';
import { isRecord, stringAt } from '../kube/object';
import { R } from '../kube/resources';
import type { Backup } from '../kube/velero';
import type { ClusterView } from '../graph/index';
import type { Logger } from '../logging/logger';
import { excludedByLabel, resourceInBackup } from './inclusion';

export interface RestoreContext {
    backup: Backup;
    namespace: string;
    view: ClusterView;
    log: Logger;
}

function pvcProblem(claim: string, ctx: RestoreContext): string | undefined {
    if (!resourceInBackup(ctx.backup, R.pvcs)) return `PVC ${claim} is excluded by the backup's resource filters`;
    const pvc = ctx.view.get(R.pvcs, ctx.namespace, claim);
    if (!pvc) {
        ctx.log.warn(`PVC ${ctx.namespace}/${claim} does not exist; nothing to back up for it`);
        return undefined;
    }
    if (excludedByLabel(pvc)) return `PVC ${claim} has label ${LABEL.exclude}=true`;
    return undefined;
}

function dataVolumeProblem(name: string, ctx: RestoreContext): string | undefined {
    const dv = ctx.view.get(R.dataVolumes, ctx.namespace, name);
    if (!dv) {
        const problem = pvcProblem(name, ctx);
        if (problem) {
            ctx.log.info(`PVC of DV volume source ${name} not included in backup`);
            return `DataVolume ${name} no longer exists and its ${problem}`;
        }
        return undefined;
    }
    let problem: string | undefined;
    if (excludedByLabel(dv)) problem = `DataVolume ${name} has label ${LABEL.exclude}=true`;
    else if (!resourceInBackup(ctx.backup, R.dataVolumes)) problem = `DataVolume ${name} is excluded by the backup's resource filters`;
    if (problem) ctx.log.info(`DataVolume ${name} not included in backup`);
    return problem;
}

/**
 * The first reason the volumes would not restore, or undefined when they would. `skip` names
 * dataVolume volumes not to check (the VM's dataVolumeTemplates, which the VM controller recreates).
 */
export function restoreProblem(volumes: readonly Record<string, unknown>[], ctx: RestoreContext, skip: ReadonlySet<string> = new Set()): string | undefined {
    for (const volume of volumes) {
        if (isRecord(volume['dataVolume'])) {
            const name = stringAt(volume, ['dataVolume', 'name']);
            if (!name || skip.has(name)) continue;
            const problem = dataVolumeProblem(name, ctx);
            if (problem) return problem;
        } else if (isRecord(volume['persistentVolumeClaim'])) {
            const claim = stringAt(volume, ['persistentVolumeClaim', 'claimName']);
            if (!claim) continue;
            const problem = pvcProblem(claim, ctx);
            if (problem) {
                ctx.log.info(`PVC ${claim} not included in backup`);
                return problem;
            }
        }
    }
    return undefined;
}
