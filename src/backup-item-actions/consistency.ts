/**
 * Which consistency level the backup of a VM (or standalone VMI) will reach, and why.
 *
 * Velero runs the pre/post backup hooks that KubeVirt puts on every virt-launcher pod
 * (pre.hook.backup.velero.io/command = /usr/bin/virt-freezer --freeze …) when it backs up the pod, in the
 * pod's ItemBlock, around the snapshots of the volumes in that block. The freeze reaches the guest's
 * filesystems only through the QEMU guest agent; without it virt-freezer succeeds without freezing.
 *  - filesystem: the guest runs, every launcher pod is in the backup and carries the virt-freezer hook,
 *    nobody asked to skip the hooks, and the guest agent is connected;
 *  - crash: the guest runs (or is paused) but one of those conditions fails;
 *  - offline: no guest runs (no VMI, or a VMI that has not started or has finished), so the disks are
 *    at rest and the backup is fully consistent.
 * Hooks defined on the Backup itself (spec.hooks) are not considered.
 */
import { ANN } from '../kube/annotations';
import { annotationOf, annotationsOf, type KubeObject, nameOf, pathGet } from '../kube/object';
import { R } from '../kube/resources';
import type { Backup } from '../kube/velero';
import { launcherPods, type ClusterView } from '../graph/index';
import type { Logger } from '../logging/logger';
import { conditionTrue } from './common';
import { excludedByLabel, resourceInBackup } from './inclusion';

export type ConsistencyLevel = 'filesystem' | 'crash' | 'offline';

export interface Consistency {
    level: ConsistencyLevel;
    reasons: string[];
    launcherPods: string[];
}

/** VMI phases in which a guest runs (or is being started inside a running launcher pod). */
const GUEST_PHASES: ReadonlySet<string> = new Set(['Scheduled', 'Running']);

/** The annotation's presence asks KubeVirt/Velero to skip the freeze hooks; only "false" means not set. */
function skipsHooks(obj: KubeObject): boolean {
    const anns = annotationsOf(obj);
    if (!(ANN.skipBackupHooks in anns)) return false;
    return String(anns[ANN.skipBackupHooks]).trim().toLowerCase() !== 'false';
}

function hasFreezeHook(pod: KubeObject): boolean {
    const command = annotationOf(pod, ANN.preHookCommand);
    return typeof command === 'string' && command.includes('virt-freezer');
}

/** A VMI whose guest runs: phase Scheduled or Running. */
export function guestRunning(vmi: KubeObject | undefined): vmi is KubeObject {
    if (!vmi) return false;
    const phase = pathGet(vmi, ['status', 'phase']);
    return typeof phase === 'string' && GUEST_PHASES.has(phase);
}

/**
 * Assesses the consistency of one VM's backup. `vm` is the VirtualMachine, or undefined for a standalone
 * VMI; `vmi` is the running instance, if any.
 */
export function assessConsistency(vm: KubeObject | undefined, vmi: KubeObject | undefined, backup: Backup, view: ClusterView): Consistency {
    if (!guestRunning(vmi)) {
        const phase = vmi ? pathGet(vmi, ['status', 'phase']) : undefined;
        const why = vmi ? `VMI phase is ${typeof phase === 'string' && phase ? phase : 'unknown'}` : 'VM is not running';
        return { level: 'offline', reasons: [why], launcherPods: [] };
    }
    const pods = launcherPods(vmi, view);
    const podNames = pods.map(nameOf);
    const problems: string[] = [];
    if (conditionTrue(vmi, 'Paused')) problems.push('VM is paused: its filesystems cannot be frozen');
    for (const [what, obj] of [['VirtualMachine', vm], ['VirtualMachineInstance', vmi], ...pods.map((p) => ['Pod', p] as const)] as const) {
        if (obj && skipsHooks(obj)) problems.push(`${ANN.skipBackupHooks} is set on ${what} ${nameOf(obj)}`);
    }
    if (pods.length === 0) {
        problems.push('no launcher pod found, so no freeze hook can run');
    } else if (!resourceInBackup(backup, R.pods)) {
        problems.push("the backup's resource filters exclude pods, so the launcher pod's hooks do not run");
    } else {
        for (const pod of pods) {
            if (excludedByLabel(pod)) problems.push(`launcher pod ${nameOf(pod)} is excluded by label, so its hooks do not run`);
            else if (!hasFreezeHook(pod)) problems.push(`launcher pod ${nameOf(pod)} has no virt-freezer pre-backup hook`);
        }
    }
    if (!conditionTrue(vmi, 'AgentConnected')) problems.push('guest agent not connected: virt-freezer cannot freeze the filesystems');
    if (problems.length > 0) return { level: 'crash', reasons: problems, launcherPods: podNames };
    return {
        level: 'filesystem',
        reasons: ['virt-freezer hooks on the launcher pod', 'guest agent connected'],
        launcherPods: podNames,
    };
}

/** The compact JSON recorded in the velero.kubevirt.io/backup-consistency annotation. */
export function consistencyAnnotation(c: Consistency): string {
    return JSON.stringify({ level: c.level, reasons: c.reasons, launcherPods: c.launcherPods });
}

/** One line per VM: info when filesystem-consistent, warn when only crash-consistent, debug when offline. */
export function logConsistency(c: Consistency, subject: string, log: Logger): void {
    switch (c.level) {
        case 'filesystem':
            log.info(`${subject}: backup will be filesystem-consistent (${c.reasons.join('; ')})`, { launcherPods: c.launcherPods });
            break;
        case 'crash':
            log.warn(`${subject}: backup will only be crash-consistent: ${c.reasons.join('; ')}`, { launcherPods: c.launcherPods });
            break;
        default:
            log.debug(`${subject}: not running, backup is offline-consistent (${c.reasons.join('; ')})`);
    }
}
