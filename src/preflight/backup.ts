/**
 * `preflight backup`: for every VM and standalone VMI in the scope of a Backup that has not been created
 * yet, what the backup would do with it. Every verdict comes from the code the backup runs:
 *  - inclusion: Velero's rules as src/backup-item-actions/inclusion.ts encodes them (listed items: resource filters,
 *    exclude label, label selectors; items an ItemBlockAction names: no selectors);
 *  - refusals and what travels: the backup action cores themselves (backup-virtualmachine-action,
 *    backup-virtualmachineinstance-action, backup-datavolume-action, block-vm-action), called with the
 *    Backup the flags describe and the same cached cluster reader; their additional items are followed
 *    the way Velero follows them (each additional item's own action runs and may add more, or refuse);
 *  - consistency: assessConsistency (what the VM action records in velero.kubevirt.io/backup-consistency).
 * Only the snapshot-path check (VolumeSnapshotClass per CSI driver) is the preflight's own: the plugin
 * does not take snapshots, Velero's CSI support does, and it needs a VolumeSnapshotClass for the driver.
 */
import { dataVolumeBackupAction } from '../backup-item-actions/datavolume';
import { vmItemBlockAction, podItemBlockAction } from '../item-block-actions/itemblock';
import { assessConsistency } from '../backup-item-actions/consistency';
import { loadBackupView } from '../backup-item-actions/common';
import { excludedByLabel, listedItemInBackup, matchesBackupSelectors, resourceInBackup } from '../backup-item-actions/inclusion';
import { vmBackupAction } from '../backup-item-actions/vm';
import { vmiBackupAction } from '../backup-item-actions/vmi';
import { getThroughList } from '../cluster/view';
import type { ClusterReader } from '../cluster/reader';
import { errorMessage, toPluginError } from '../errors';
import type { ClusterView } from '../graph/index';
import { LABEL } from '../kube/annotations';
import { type KubeObject, labelOf, nameOf, namespaceOf, ownerReferencesOf, pathGet, refOf, vmOwner } from '../kube/object';
import { groupResourceString, R, refKey, type ObjectRef } from '../kube/resources';
import type { Backup } from '../kube/velero';
import { runBackupAction, runItemBlockAction } from '../plugin/adapter';
import type { BackupAction } from '../plugin/contract';
import { captureLog, type CapturedLog } from './capture';
import { finding, type BackupSubject, type Finding } from './report';
import { PR, resourceOf } from './resources';

export interface BackupPreflightResult {
    namespaces: string[];
    subjects: BackupSubject[];
    findings: Finding[];
}

/** Velero's namespace filter: "*" and globs in includes and excludes; empty includes mean all. */
export function namespaceSelected(backup: Backup, namespace: string): boolean {
    const inc = backup.spec?.includedNamespaces ?? [];
    const exc = backup.spec?.excludedNamespaces ?? [];
    if (exc.some((p) => globMatch(p, namespace))) return false;
    return inc.length === 0 || inc.some((p) => globMatch(p, namespace));
}

function globMatch(pattern: string, value: string): boolean {
    const p = pattern.trim();
    if (p === '*') return true;
    if (!/[*?[\]]/.test(p)) return p === value;
    let re = '';
    for (const ch of p) re += ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|\\]/g, '\\$&');
    return new RegExp(`^${re}$`).test(value);
}

/** The namespaces the backup covers: the literal includes, or every namespace of the cluster that the filters admit. */
async function scopeNamespaces(backup: Backup, cluster: ClusterReader): Promise<string[]> {
    const inc = backup.spec?.includedNamespaces ?? [];
    const literal = inc.length > 0 && inc.every((n) => !/[*?[\]]/.test(n));
    const candidates = literal ? inc : (await cluster.list(PR.namespaces, '')).map(nameOf);
    return [...new Set(candidates)].filter((ns) => ns !== '' && namespaceSelected(backup, ns)).sort();
}

interface Run {
    backup: Backup;
    cluster: ClusterReader;
    captured: CapturedLog;
}

/** Runs one backup action core; the error it would return to Velero, with the item named as Velero logs it. */
async function runAction(spec: BackupAction, item: KubeObject, run: Run): Promise<{ additional: ObjectRef[]; error?: string; warnings: string[] }> {
    try {
        const out = await runBackupAction(spec, item, run.backup, { cluster: run.cluster, log: run.captured.log });
        return { additional: out.additionalItems, warnings: run.captured.take() };
    } catch (error) {
        return { additional: [], error: toPluginError(error, refOf(item)).message, warnings: run.captured.take() };
    }
}

/** Why a VM is (or is not) in the backup. A launcher pod Velero lists brings its VM in as a related item (block-launcher-pod-action). */
async function vmInclusion(vm: KubeObject, run: Run, view: ClusterView): Promise<{ included: boolean; why: string }> {
    const { backup } = run;
    if (!resourceInBackup(backup, R.vms)) return { included: false, why: "the backup's resource filters exclude virtualmachines" };
    if (excludedByLabel(vm)) return { included: false, why: `label ${LABEL.exclude}=true` };
    if (matchesBackupSelectors(backup, vm)) return { included: true, why: 'listed: the namespace and resource filters and the label selector admit it' };
    const vmi = view.get(R.vmis, namespaceOf(vm), nameOf(vm));
    if (vmi && resourceInBackup(backup, R.pods)) {
        const uid = pathGet(vmi, ['metadata', 'uid']);
        const pods = view.list(R.pods, namespaceOf(vm)).filter((p) => typeof uid === 'string' && labelOf(p, LABEL.createdBy) === uid);
        for (const pod of pods) {
            if (!listedItemInBackup(backup, R.pods, pod)) continue;
            const related = await runItemBlockAction(podItemBlockAction, pod, backup, { cluster: run.cluster, log: run.captured.log });
            if (related.some((r) => r.resource === 'virtualmachines' && r.name === nameOf(vm))) {
                return { included: true, why: `not matched by the label selector, but its launcher pod ${nameOf(pod)} is, and the pod's ItemBlock brings the VM` };
            }
        }
    }
    return { included: false, why: "the backup's label selector does not match its labels" };
}

/** The actions' own consistency log line: the report carries the consistency as a field instead. */
const CONSISTENCY_LINE = /: backup will only be crash-consistent: /;

const ACTIONS_BY_RESOURCE: ReadonlyMap<string, BackupAction> = new Map([
    ['virtualmachineinstances.kubevirt.io', vmiBackupAction],
    ['datavolumes.cdi.kubevirt.io', dataVolumeBackupAction],
]);

/** Objects of the item's namespace the backup reads anyway come from the view; others through one LIST each. */
async function lookup(ref: ObjectRef, run: Run, view: ClusterView): Promise<KubeObject | undefined> {
    const resource = resourceOf(ref);
    if ([R.pods, R.pvcs, R.vmis, R.dataVolumes].some((r) => r.resource === resource.resource && r.group === resource.group)) {
        return view.get(resource, ref.namespace, ref.name);
    }
    // One LIST per resource and namespace (Secrets included: their data stays in memory, never printed),
    // so a namespace of 1,000 VMs costs the same handful of requests as one VM.
    return getThroughList(run.cluster, resource, ref.namespace, ref.name);
}

/**
 * Follows the additional and related items of a VM or VMI the way Velero does: each one that is in the
 * backup has its own action run, which may add items or refuse.
 */
async function travel(start: ObjectRef[], run: Run, view: ClusterView, subject: BackupSubject, seen: Set<string>): Promise<void> {
    const queue = [...start];
    while (queue.length > 0) {
        const ref = queue.shift() as ObjectRef;
        const key = refKey(ref);
        if (seen.has(key)) continue;
        seen.add(key);
        const resource = resourceOf(ref);
        const base = { resource: groupResourceString(ref), namespace: ref.namespace, name: ref.name };
        if (!resourceInBackup(run.backup, resource)) {
            subject.related.push({ ...base, status: 'filtered', note: "the backup's resource filters exclude it" });
            continue;
        }
        let obj: KubeObject | undefined;
        try {
            obj = await lookup(ref, run, view);
        } catch (error) {
            // The preflight's identity may not read this resource (the plugin never does): say so, go on.
            subject.related.push({ ...base, status: 'unchecked', note: `cannot check: ${errorMessage(error)}` });
            continue;
        }
        if (!obj) {
            subject.related.push({ ...base, status: 'missing', note: 'referenced but not in the cluster' });
            continue;
        }
        if (excludedByLabel(obj)) {
            subject.related.push({ ...base, status: 'filtered', note: `label ${LABEL.exclude}=true` });
            continue;
        }
        subject.related.push({ ...base, status: 'included' });
        const action = ACTIONS_BY_RESOURCE.get(base.resource);
        if (!action) continue;
        const out = await runAction(action, obj, run);
        if (out.error) subject.refusals.push(out.error);
        for (const w of out.warnings) if (!CONSISTENCY_LINE.test(w)) subject.findings.push(finding('warning', 'ActionWarning', w));
        queue.push(...out.additional);
    }
}

/** Missing references: a missing DataVolume whose PVC travels is CDI's garbage collection at work, not a problem. */
function missingFindings(subject: BackupSubject): void {
    const included = new Set(subject.related.filter((r) => r.status === 'included').map((r) => `${r.resource}/${r.namespace}/${r.name}`));
    for (const r of subject.related) {
        if (r.status !== 'missing') continue;
        if (r.resource === 'datavolumes.cdi.kubevirt.io' && included.has(`persistentvolumeclaims/${r.namespace}/${r.name}`)) {
            r.note = 'no longer exists (garbage-collected by CDI); its PVC travels instead';
            continue;
        }
        subject.findings.push(finding('warning', 'MissingReference', `${r.resource} ${r.namespace}/${r.name} is referenced but does not exist`));
    }
}

export interface SnapshotContext {
    storageClasses: readonly KubeObject[];
    snapshotClasses: readonly KubeObject[];
}

/**
 * The snapshot path of a PVC's data: Velero's CSI support snapshots a PVC through a VolumeSnapshotClass
 * whose driver is the PVC's CSI driver (the provisioner of its StorageClass). Undefined when there is one.
 */
export function snapshotProblem(pvc: KubeObject, ctx: SnapshotContext): string | undefined {
    const explicit = pathGet(pvc, ['spec', 'storageClassName']);
    const scName = typeof explicit === 'string' && explicit !== '' ? explicit : undefined;
    const sc = scName
        ? ctx.storageClasses.find((s) => nameOf(s) === scName)
        : ctx.storageClasses.find((s) => pathGet(s, ['metadata', 'annotations', 'storageclass.kubernetes.io/is-default-class']) === 'true');
    const what = `PVC ${namespaceOf(pvc)}/${nameOf(pvc)}`;
    if (!sc) return scName ? `${what}: storage class ${scName} does not exist, so its CSI driver is unknown` : `${what}: no storage class and no default storage class`;
    const driver = pathGet(sc, ['provisioner']);
    if (typeof driver !== 'string' || driver === '') return `${what}: storage class ${nameOf(sc)} names no provisioner`;
    if (!ctx.snapshotClasses.some((c) => pathGet(c, ['driver']) === driver)) {
        return `${what}: no VolumeSnapshotClass for CSI driver ${driver} (storage class ${nameOf(sc)}): its data has no snapshot path`;
    }
    return undefined;
}

async function snapshotFindings(subject: BackupSubject, run: Run, view: ClusterView): Promise<void> {
    const spec = run.backup.spec ?? {};
    const pvcs = subject.related.filter((r) => r.status === 'included' && r.resource === 'persistentvolumeclaims');
    if (pvcs.length === 0) return;
    if (spec.defaultVolumesToFsBackup === true) return; // file-system backup copies the data; no snapshot needed
    if (spec.snapshotVolumes === false) {
        subject.findings.push(finding('info', 'SnapshotsDisabled', `${pvcs.length} PVC(s): --snapshot-volumes=false, volume data is not backed up by snapshot`));
        return;
    }
    const ctx: SnapshotContext = {
        storageClasses: await run.cluster.list(PR.storageClasses, ''),
        snapshotClasses: await run.cluster.list(PR.volumeSnapshotClasses, ''),
    };
    for (const r of pvcs) {
        const pvc = view.get(R.pvcs, r.namespace, r.name);
        const problem = pvc ? snapshotProblem(pvc, ctx) : undefined;
        if (problem) subject.findings.push(finding('warning', 'NoSnapshotPath', problem));
    }
}

async function assessVm(vm: KubeObject, run: Run, view: ClusterView): Promise<BackupSubject> {
    const ns = namespaceOf(vm);
    const inclusion = await vmInclusion(vm, run, view);
    const subject: BackupSubject = {
        kind: 'VirtualMachine',
        namespace: ns,
        name: nameOf(vm),
        included: inclusion.included,
        inclusion: inclusion.why,
        refusals: [],
        related: [],
        findings: [],
    };
    run.captured.take();
    if (!inclusion.included) return subject;
    const out = await runAction(vmBackupAction, vm, run);
    for (const w of out.warnings) if (!CONSISTENCY_LINE.test(w)) subject.findings.push(finding('warning', 'ActionWarning', w));
    if (out.error) {
        subject.refusals.push(out.error);
    }
    // Related items of the VM's ItemBlock are backed up too (fetched by name, selectors not applied).
    const related = await runItemBlockAction(vmItemBlockAction, vm, run.backup, { cluster: run.cluster, log: run.captured.log });
    run.captured.take();
    await travel([...out.additional, ...related], run, view, subject, new Set([`virtualmachines.kubevirt.io/${ns}/${nameOf(vm)}`]));
    if (!out.error) {
        const c = assessConsistency(vm, view.get(R.vmis, ns, nameOf(vm)), run.backup, view);
        subject.consistency = { level: c.level, reasons: c.reasons, launcherPods: c.launcherPods };
    }
    missingFindings(subject);
    await snapshotFindings(subject, run, view);
    return subject;
}

async function assessStandaloneVmi(vmi: KubeObject, run: Run, view: ClusterView): Promise<BackupSubject> {
    const ns = namespaceOf(vmi);
    const subject: BackupSubject = { kind: 'VirtualMachineInstance', namespace: ns, name: nameOf(vmi), included: false, inclusion: '', refusals: [], related: [], findings: [] };
    if (!resourceInBackup(run.backup, R.vmis)) subject.inclusion = "the backup's resource filters exclude virtualmachineinstances";
    else if (excludedByLabel(vmi)) subject.inclusion = `label ${LABEL.exclude}=true`;
    else if (!matchesBackupSelectors(run.backup, vmi)) subject.inclusion = "the backup's label selector does not match its labels";
    else {
        subject.included = true;
        subject.inclusion = 'listed: the namespace and resource filters and the label selector admit it';
    }
    if (!subject.included) return subject;
    // The VMI is an item like any other: travel() runs its action and follows what it adds.
    const related = await runItemBlockAction(vmItemBlockAction, vmi, run.backup, { cluster: run.cluster, log: run.captured.log });
    run.captured.take();
    const self = { group: 'kubevirt.io', resource: 'virtualmachineinstances', namespace: ns, name: nameOf(vmi) };
    await travel([self, ...related], run, view, subject, new Set());
    subject.related = subject.related.filter((r) => !(r.resource === 'virtualmachineinstances.kubevirt.io' && r.name === nameOf(vmi)));
    if (subject.refusals.length === 0) {
        const c = assessConsistency(undefined, vmi, run.backup, view);
        subject.consistency = { level: c.level, reasons: c.reasons, launcherPods: c.launcherPods };
    }
    missingFindings(subject);
    await snapshotFindings(subject, run, view);
    return subject;
}

export async function preflightBackup(backup: Backup, cluster: ClusterReader): Promise<BackupPreflightResult> {
    const run: Run = { backup, cluster, captured: captureLog() };
    const findings: Finding[] = [];
    let namespaces: string[];
    try {
        namespaces = await scopeNamespaces(backup, cluster);
    } catch (error) {
        return { namespaces: [], subjects: [], findings: [finding('error', 'ClusterRead', `cannot resolve the backup's namespaces: ${errorMessage(error)}`)] };
    }
    const subjects: BackupSubject[] = [];
    for (const ns of namespaces) {
        let vms: readonly KubeObject[];
        let view: ClusterView;
        try {
            vms = await cluster.list(R.vms, ns);
            view = await loadBackupView(cluster, ns);
        } catch (error) {
            findings.push(finding('error', 'ClusterRead', `namespace ${ns}: ${errorMessage(error)}`));
            continue;
        }
        const standalone = view.list(R.vmis, ns).filter((vmi) => !vmOwner(vmi) && ownerReferencesOf(vmi).length === 0);
        const items: [KubeObject, typeof assessVm][] = [
            ...[...vms].sort((a, b) => nameOf(a).localeCompare(nameOf(b))).map((vm): [KubeObject, typeof assessVm] => [vm, assessVm]),
            ...[...standalone].sort((a, b) => nameOf(a).localeCompare(nameOf(b))).map((vmi): [KubeObject, typeof assessVm] => [vmi, assessStandaloneVmi]),
        ];
        for (const [item, assess] of items) {
            try {
                subjects.push(await assess(item, run, view));
            } catch (error) {
                findings.push(finding('error', 'ClusterRead', `${item.kind ?? 'item'} ${ns}/${nameOf(item)}: ${errorMessage(error)}`));
            }
        }
    }
    return { namespaces, subjects, findings };
}
