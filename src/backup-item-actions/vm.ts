/**
 * backup-virtualmachine-action: refuses a VM whose backup could not be restored or would be unsafe,
 * returns the VM's object graph as additional items, copies the instancetype/preference revision names
 * from status into spec (Velero drops status on restore), labels the item velero.kubevirt.io/vm=<name>
 * (single-VM restore with `velero restore create --selector velero.kubevirt.io/vm=<name>`) and records
 * the consistency level in the velero.kubevirt.io/backup-consistency annotation.
 *
 * Running: printableStatus Starting, Running or Migrating. Upstream counted Migrating as stopped (a
 * migrating VM runs, in two pods). Paused, Stopping, error statuses and every other status count as not
 * running, as upstream: a paused guest writes nothing, and a VM in an error status has no guest to
 * protect. The status alone decides rather than "status.created with a VMI", because a Paused VM is
 * created and has a VMI too, and upstream (and users) expect it to back up with pods excluded.
 */
import { PluginError } from '../errors';
import { encodeRefs, vmBackupGraph, vmRestoreGraph } from '../graph/index';
import { ANN, LABEL } from '../kube/annotations';
import { PLUGIN_PREFIX, type BackupAction } from '../plugin/contract';
import { deepClone } from '../kube/json';
import { KNOB } from '../kube/knobs';
import { describe, isRecord, nameOf, namespaceOf, pathGet, setAnnotation, setLabel, type KubeObject } from '../kube/object';
import { R } from '../kube/resources';
import type { Backup } from '../kube/velero';
import type { Logger } from '../logging/logger';
import { KIND, loadBackupView, requireRecord, volumesOf } from './common';
import { assessConsistency, consistencyAnnotation, logConsistency } from './consistency';
import { excludedByLabel, resourceInBackup } from './inclusion';
import { restoreProblem } from './restorable';
import type { ClusterView } from '../graph/index';

const RUNNING_STATUSES: ReadonlySet<string> = new Set(['Starting', 'Running', 'Migrating']);

/** The VM's guest runs or is starting (see the module comment). */
export function vmRunning(vm: KubeObject): boolean {
    const status = pathGet(vm, ['status', 'printableStatus']);
    return typeof status === 'string' && RUNNING_STATUSES.has(status);
}

/**
 * Why backing up this running VM would be unsafe, or undefined when it is safe. A running VM needs its
 * VMI in the backup, and its launcher pod too whenever PVCs are backed up (the pod's hooks freeze the
 * guest around the PVC snapshots).
 */
export function vmSafetyProblem(vm: KubeObject, vmi: KubeObject | undefined, backup: Backup, log: Logger): string | undefined {
    if (!vmRunning(vm)) return undefined;
    if (!resourceInBackup(backup, R.vmis)) {
        log.info('Backup of a running VM does not contain VMI.');
        return "the VM is running and the backup's resource filters exclude virtualmachineinstances";
    }
    if (!vmi) {
        // Upstream fails the item here (a race with the VMI's creation or deletion): nothing runs to protect.
        log.info(`${describe(vm, 'VM')} reports ${String(pathGet(vm, ['status', 'printableStatus']))} but has no VMI; backing it up as stopped`);
        return undefined;
    }
    if (excludedByLabel(vmi)) {
        log.info('VM is running but VMI is not included in the backup');
        return `the VM is running and its VMI has label ${LABEL.exclude}=true`;
    }
    if (!resourceInBackup(backup, R.pods) && resourceInBackup(backup, R.pvcs)) {
        log.info('Backup of a running VM does not contain Pod but contains PVC');
        return "the VM is running and the backup includes PVCs but its resource filters exclude pods, so the launcher pod's freeze hooks cannot run";
    }
    return undefined;
}

function dataVolumeTemplateNames(vm: KubeObject): Set<string> {
    const templates = pathGet(vm, ['spec', 'dataVolumeTemplates']);
    const names = new Set<string>();
    if (!Array.isArray(templates)) return names;
    for (const t of templates) {
        const name = pathGet(t, ['metadata', 'name']);
        if (typeof name === 'string' && name) names.add(name);
    }
    return names;
}

/** status.<ref>.controllerRevisionRef.name → spec.<which>.revisionName. Mutates `vm`. */
function copyRevisionName(vm: KubeObject, which: 'instancetype' | 'preference'): void {
    const target = pathGet(vm, ['spec', which]);
    const revision = pathGet(vm, ['status', `${which}Ref`, 'controllerRevisionRef', 'name']);
    if (!isRecord(target) || typeof revision !== 'string' || revision === '') return;
    target['revisionName'] = revision;
}

/** Label values are at most 63 characters; VM names may be longer (DNS subdomains, up to 253). */
const MAX_LABEL_VALUE = 63;

/** Labels the item velero.kubevirt.io/vm=<name> for single-VM restore, where the name fits in a label value. */
function singleVmLabel(out: KubeObject, log: Logger): void {
    const name = nameOf(out);
    if (name.length <= MAX_LABEL_VALUE) setLabel(out, LABEL.vmName, name);
    else log.info(`${describe(out, 'VM')}: name longer than ${MAX_LABEL_VALUE} characters, not labelled ${LABEL.vmName} (single-VM restore by label is not available for it)`);
}

function checkRestorable(vm: KubeObject, volumes: Record<string, unknown>[], backup: Backup, metadataBackup: boolean, view: ClusterView, log: Logger): void {
    if (metadataBackup) {
        log.info(`Backup has ${KNOB.metadataBackup}: volume restorability of ${describe(vm, 'VM')} not checked`);
        return;
    }
    const problem = restoreProblem(volumes, { backup, namespace: namespaceOf(vm), view, log }, dataVolumeTemplateNames(vm));
    if (problem) throw new PluginError('Refused', `VM would not be restored correctly: ${problem}`);
}

export const vmBackupAction: BackupAction = {
    name: `${PLUGIN_PREFIX}/backup-virtualmachine-action`,
    appliesTo: { includedResources: ['virtualmachines.kubevirt.io'], kinds: [{ kind: KIND.vm, group: 'kubevirt.io' }] },
    requiresBackup: true,
    async execute({ item, backup, options }, { cluster, log }) {
        requireRecord(item, ['spec']);
        requireRecord(item, ['spec', 'template']);
        const templateSpec = requireRecord(item, ['spec', 'template', 'spec']);
        const volumes = volumesOf(templateSpec, 'spec.template.spec');

        const ns = namespaceOf(item);
        const view = await loadBackupView(cluster, ns);
        const vmi = view.get(R.vmis, ns, nameOf(item));

        const unsafe = vmSafetyProblem(item, vmi, backup, log);
        if (unsafe) throw new PluginError('Refused', `VM cannot be safely backed up: ${unsafe}`);
        checkRestorable(item, volumes, backup, options.metadataBackup, view, log);

        const additionalItems = vmBackupGraph(item, view);

        const consistency = assessConsistency(item, vmi, backup, view);
        logConsistency(consistency, `${describe(item, 'VM')}`, log);

        const out = deepClone(item);
        copyRevisionName(out, 'instancetype');
        copyRevisionName(out, 'preference');
        singleVmLabel(out, log);
        setAnnotation(out, ANN.backupConsistency, consistencyAnnotation(consistency));
        // What a restore needs but could not find once the namespace is gone (src/graph/record.ts).
        setAnnotation(out, ANN.restoreGraph, encodeRefs(vmRestoreGraph(item, view)));
        return { item: out, additionalItems };
    },
};
