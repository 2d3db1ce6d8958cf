/**
 * `preflight restore`: for every VM and standalone VMI in a backup tarball, what a restore with the
 * given flags would do in the target cluster. The verdicts come from the restore code itself:
 *  - which items Velero restores: Velero's namespace, resource and label-selector filters (the resource
 *    matching of src/backup-item-actions/inclusion.ts, which Velero's backup and restore share), then the plugin's
 *    restore actions (restore-vm-action, restore-vmi-action, restore-pvc-action, restore-pod-action,
 *    restore-datavolume-action, restore-nad-action) run on the items from the tarball with the Restore the flags describe:
 *    their errors, skips, additional items and rewritten specs;
 *  - identity collisions: applyIdentityPolicy with identity-policy=auto (what auto would change) next to
 *    the spec the requested policy produces;
 *  - storage classes: the change-storage-class ConfigMap as loadStorageClassMap reads it.
 * The target cluster is only read.
 */
import { matchesBackupSelectors, resourceInBackup } from '../backup-item-actions/inclusion';
import type { ClusterReader } from '../cluster/reader';
import { getThroughList } from '../cluster/view';
import { errorMessage, toPluginError } from '../errors';
import { ANN, LABEL } from '../kube/annotations';
import { deepClone } from '../kube/json';
import { arrayAt, isRecord, type KubeObject, labelOf, nameOf, pathGet, refOf } from '../kube/object';
import { groupResourceString, parseGroupResource, R, refKey, type GroupResource, type ObjectRef } from '../kube/resources';
import type { Backup, Restore } from '../kube/velero';
import { runRestoreAction as runCore } from '../plugin/adapter';
import type { RestoreAction } from '../plugin/contract';
import { parseRestoreOptions, type Env, type RestoreOptions } from '../plugin/options';
import { nadName } from '../graph/index';
import { applyIdentityPolicy, type IdentityChange } from '../restore-item-actions/identity';
import { targetNamespace } from '../restore-item-actions/namespacemap';
import { dataVolumeRestoreAction } from '../restore-item-actions/datavolume';
import { nadRestoreAction } from '../restore-item-actions/nad';
import { podRestoreAction } from '../restore-item-actions/pod';
import { pvcRestoreAction } from '../restore-item-actions/pvc';
import { dataVolumeStorageClassFields, dataVolumeTemplateStorageClassFields, loadStorageClassMap } from '../restore-item-actions/storageclass';
import { vmRestoreAction } from '../restore-item-actions/vm';
import { vmiRestoreAction } from '../restore-item-actions/vmi';
import { captureLog, type CapturedLog } from './capture';
import { finding, type Finding, type IdentityVerdict, type RestoreSubject } from './report';
import { namespaceSelected } from './backup';
import { PR, resourceOf } from './resources';
import type { BackupContents } from './tarball';

const VM_RESOURCE = 'virtualmachines.kubevirt.io';
const VMI_RESOURCE = 'virtualmachineinstances.kubevirt.io';

export interface RestorePreflightResult {
    subjects: RestoreSubject[];
    findings: Finding[];
}

interface Run {
    restore: Restore;
    contents: BackupContents;
    cluster: ClusterReader;
    captured: CapturedLog;
    env: Env;
    /** The Restore's options, parsed once as the adapter parses them for each call. */
    options: RestoreOptions;
}

/** The Restore's filters through the shapes the backup filters share with it (same field names). */
function asFilter(restore: Restore): Backup {
    return restore;
}

/** Velero's restore filters for one item of the backup: namespace, resource, labels. Undefined when it is restored. */
function filteredOut(run: Run, resource: string, namespace: string, item: KubeObject, selectors: boolean): string | undefined {
    const filter = asFilter(run.restore);
    if (namespace !== '' && !namespaceSelected(filter, namespace)) return "the restore's namespace filters exclude its namespace";
    if (!resourceInBackup(filter, resourceOf(parseGroupResource(resource)))) return "the restore's resource filters exclude it";
    if (selectors && !matchesBackupSelectors(filter, item)) return "the restore's label selector does not match its labels";
    return undefined;
}

async function runRestoreAction(
    spec: RestoreAction,
    item: KubeObject,
    run: Run,
): Promise<{ item: KubeObject; additional: ObjectRef[]; skip: boolean; error?: string; warnings: string[] }> {
    try {
        const out = await runCore(spec, item, run.restore, () => item, run.env, { cluster: run.cluster, log: run.captured.log });
        return { item: out.item, additional: out.additionalItems, skip: out.skipRestore, warnings: run.captured.take() };
    } catch (error) {
        return { item, additional: [], skip: false, error: toPluginError(error, refOf(item)).message, warnings: run.captured.take() };
    }
}

const LAUNCHER_SELECTOR_VALUES = new Set(['virt-launcher', 'hotplug-disk']);

/** The plugin's restore action for an item of the backup, as Velero picks it (resource and AppliesTo selector). */
function actionFor(resource: string, item: KubeObject): RestoreAction | undefined {
    switch (resource) {
        case 'persistentvolumeclaims':
            return pvcRestoreAction;
        case 'datavolumes.cdi.kubevirt.io':
            return dataVolumeRestoreAction;
        case 'network-attachment-definitions.k8s.cni.cncf.io':
            return nadRestoreAction;
        case 'pods':
            return LAUNCHER_SELECTOR_VALUES.has(labelOf(item, LABEL.kubevirt) ?? '') ? podRestoreAction : undefined;
        default:
            return undefined;
    }
}

/** Does the target cluster already hold this object? */
async function existsInTarget(run: Run, resource: string, namespace: string, name: string): Promise<boolean> {
    const gr = resourceOf({ ...parseGroupResource(resource), namespace });
    return (await getThroughList(run.cluster, gr, namespace, name)) !== undefined;
}

/** Additional items of the VM or VMI, as Velero restores them (resource filters apply, selectors do not). */
async function related(refs: readonly ObjectRef[], subject: RestoreSubject, run: Run, restoredDvs: Map<string, KubeObject>): Promise<void> {
    const seen = new Set<string>();
    for (const ref of refs) {
        if (seen.has(refKey(ref))) continue;
        seen.add(refKey(ref));
        const resource = groupResourceString(ref);
        const target = targetNamespace(run.options.namespaceMapping, ref.namespace);
        const base = { resource, namespace: target, name: ref.name };
        const item = run.contents.get(resource, ref.namespace, ref.name);
        if (!item) {
            subject.related.push({ ...base, status: 'missing', note: 'not in the backup' });
            subject.findings.push(finding('warning', 'NotInBackup', `${resource} ${ref.namespace}/${ref.name} is needed by the ${subject.kind} but is not in the backup`));
            continue;
        }
        const filtered = filteredOut(run, resource, ref.namespace, item, false);
        if (filtered) {
            subject.related.push({ ...base, status: 'filtered', note: filtered });
            continue;
        }
        const action = actionFor(resource, item);
        let restoredItem = item;
        if (action) {
            const out = await runRestoreAction(action, item, run);
            for (const w of out.warnings) subject.findings.push(finding('warning', 'ActionWarning', w));
            if (out.error) {
                subject.refusals.push(out.error);
                subject.related.push({ ...base, status: 'skipped', note: 'the restore action fails' });
                continue;
            }
            if (out.skip) {
                subject.related.push({ ...base, status: 'skipped', note: `${action.name} skips it` });
                continue;
            }
            restoredItem = out.item;
        }
        if (await existsInTarget(run, resource, target, ref.name)) {
            subject.related.push({ ...base, status: 'exists', note: 'already in the target: Velero keeps the existing object' });
            continue;
        }
        subject.related.push({ ...base, status: 'restored' });
        if (resource === 'datavolumes.cdi.kubevirt.io') restoredDvs.set(ref.name, restoredItem);
    }
}

/** Identity values of the backed-up spec that VMs/VMIs of the target already use, and what happens to them. */
async function identityVerdicts(vmiSpec: unknown, restoredSpec: unknown, fieldPrefix: string, subject: RestoreSubject, run: Run): Promise<IdentityVerdict[]> {
    if (!isRecord(vmiSpec)) return [];
    const probe = deepClone(vmiSpec);
    let changes: IdentityChange[];
    try {
        changes = await applyIdentityPolicy(
            { vmiSpec: probe, fieldPrefix, noun: 'preflight', what: subject.name, targetNamespace: subject.targetNamespace, name: subject.name },
            { auto: true, clearMacAddress: false, newFirmwareUuid: false, newSerial: false },
            { cluster: run.cluster, log: run.captured.log },
        );
    } finally {
        run.captured.take();
    }
    return changes
        .filter((c) => c.reason === 'collision')
        .map((c) => {
            const path = c.field.slice(fieldPrefix.length + 1);
            const after = fieldValue(restoredSpec, path);
            const requested = after === undefined ? 'cleared' : after === c.from ? 'kept (collides)' : 'replaced';
            return {
                field: c.field,
                value: c.from,
                usedBy: c.usedBy ?? 'another VM',
                requested,
                auto: c.to === undefined ? 'clear it (KubeVirt assigns a new one)' : 'replace it with a new random value',
            };
        });
}

/** "domain.devices.interfaces[0].macAddress" of a spec. */
function fieldValue(spec: unknown, path: string): unknown {
    const segments: (string | number)[] = [];
    for (const part of path.split('.')) {
        const m = /^([^[]+)\[(\d+)\]$/.exec(part);
        if (m) segments.push(m[1] as string, Number(m[2]));
        else segments.push(part);
    }
    return pathGet(spec, segments);
}

interface StorageCheck {
    field: string;
    storageClass: string;
}

/** Storage classes the restored objects name that the target cluster lacks. */
async function storageClassFindings(checks: readonly StorageCheck[], subject: RestoreSubject, run: Run): Promise<void> {
    if (checks.length === 0) return;
    const classes = new Set((await run.cluster.list(PR.storageClasses, '')).map(nameOf));
    for (const c of checks) {
        if (!classes.has(c.storageClass)) {
            subject.findings.push(
                finding(
                    'error',
                    'StorageClassMissing',
                    `${c.field}: storage class ${c.storageClass} does not exist in the target cluster (after the change-storage-class ConfigMap)`,
                ),
            );
        }
    }
}

/** PVCs restored with the VM: their storage class after Velero's change-storage-class action (same ConfigMap, same reader). */
async function pvcStorageChecks(subject: RestoreSubject, run: Run): Promise<StorageCheck[]> {
    const pvcs = subject.related.filter((r) => r.status === 'restored' && r.resource === 'persistentvolumeclaims');
    if (pvcs.length === 0) return [];
    const map = await loadStorageClassMap(run.cluster, run.options.veleroNamespace);
    const reverse = new Map([...run.options.namespaceMapping].map(([a, b]) => [b, a]));
    const out: StorageCheck[] = [];
    for (const r of pvcs) {
        const item = run.contents.get(r.resource, reverse.get(r.namespace) ?? r.namespace, r.name);
        const sc = pathGet(item, ['spec', 'storageClassName']);
        if (typeof sc !== 'string' || sc === '') continue;
        const mapped = map?.data.get(sc);
        out.push({ field: `PVC ${r.namespace}/${r.name} spec.storageClassName`, storageClass: mapped !== undefined && mapped.trim() !== '' ? mapped : sc });
    }
    return out;
}

/** Multus networks of the restored spec whose NetworkAttachmentDefinition is neither in the target nor restored. */
async function networkFindings(spec: unknown, subject: RestoreSubject, run: Run): Promise<void> {
    for (const network of arrayAt(spec, ['networks'])) {
        const networkName = pathGet(network, ['multus', 'networkName']);
        if (typeof networkName !== 'string' || networkName === '') continue;
        const slash = networkName.indexOf('/');
        const ns = slash < 0 ? subject.targetNamespace : networkName.slice(0, slash);
        const name = slash < 0 ? networkName : (nadName(networkName, ns) ?? '');
        if (name === '') continue;
        const restored = subject.related.some(
            (r) => r.resource === 'network-attachment-definitions.k8s.cni.cncf.io' && r.namespace === ns && r.name === name && r.status === 'restored',
        );
        if (restored) continue;
        if (await existsInTarget(run, 'network-attachment-definitions.k8s.cni.cncf.io', ns, name)) continue;
        subject.findings.push(
            finding('error', 'NetworkMissing', `network ${networkName}: NetworkAttachmentDefinition ${ns}/${name} does not exist in the target cluster and is not in the backup`),
        );
    }
}

/**
 * Sources a DataVolume spec names in another namespace (golden images: sourceRef DataSource, source.pvc,
 * source.snapshot). A DataVolume restored from the backup with prePopulated adopts its restored PVC and
 * never reads the source: then a missing source is only a warning.
 */
async function sourceFindings(dvSpec: unknown, where: string, prePopulated: boolean, subject: RestoreSubject, run: Run): Promise<void> {
    const sources: [string, GroupResource, unknown][] = [
        ['sourceRef', PR.dataSources, pathGet(dvSpec, ['sourceRef'])],
        ['source.pvc', R.pvcs, pathGet(dvSpec, ['source', 'pvc'])],
        ['source.snapshot', R.volumeSnapshots, pathGet(dvSpec, ['source', 'snapshot'])],
    ];
    for (const [field, resource, holder] of sources) {
        const ns = pathGet(holder, ['namespace']);
        const name = pathGet(holder, ['name']);
        if (typeof ns !== 'string' || ns === '' || ns === subject.targetNamespace || typeof name !== 'string') continue;
        const severity = prePopulated ? 'warning' : 'error';
        const nsExists = (await run.cluster.get(PR.namespaces, '', ns)) !== undefined;
        if (!nsExists) {
            subject.findings.push(finding(severity, 'SourceNamespaceMissing', `${where}.${field}: namespace ${ns} does not exist in the target cluster`));
            continue;
        }
        if ((await run.cluster.get(resource, ns, name)) === undefined) {
            subject.findings.push(finding(severity, 'SourceMissing', `${where}.${field}: ${resource.resource} ${ns}/${name} does not exist in the target cluster`));
        }
    }
}

/** The storage classes the DataVolumes restored with the subject name (after the change-storage-class ConfigMap). */
function dataVolumeStorageChecks(restoredDvs: ReadonlyMap<string, KubeObject>, subject: RestoreSubject): StorageCheck[] {
    return [...restoredDvs].flatMap(([name, dv]) =>
        dataVolumeStorageClassFields(pathGet(dv, ['spec']), 'spec').map((f) => ({ field: `DataVolume ${subject.targetNamespace}/${name} ${f.field}`, storageClass: f.value })),
    );
}

/** The cross-namespace sources of the DataVolumes restored with the subject; prePopulated ones never read theirs. */
async function dataVolumeSourceFindings(restoredDvs: ReadonlyMap<string, KubeObject>, subject: RestoreSubject, run: Run): Promise<void> {
    for (const [name, dv] of restoredDvs) {
        await sourceFindings(pathGet(dv, ['spec']), `DataVolume ${name} spec`, ANN.prePopulated in (dv.metadata?.annotations ?? {}), subject, run);
    }
}

async function collisionFinding(subject: RestoreSubject, resource: typeof R.vms, run: Run): Promise<boolean> {
    if (!(await run.cluster.get(resource, subject.targetNamespace, subject.name))) return false;
    subject.restored = false;
    subject.reason = `${subject.kind} ${subject.targetNamespace}/${subject.name} already exists in the target: Velero keeps it and does not restore this one`;
    subject.findings.push(finding('error', 'NameCollision', subject.reason));
    return true;
}

function identityFindings(subject: RestoreSubject): void {
    for (const v of subject.identity) {
        const severity = v.requested === 'kept (collides)' ? 'error' : 'info';
        subject.findings.push(
            finding(
                severity,
                'IdentityCollision',
                `${v.field} ${v.value} is already used by ${v.usedBy}; the restore as requested: ${v.requested}; identity-policy=auto would ${v.auto}`,
            ),
        );
    }
}

/**
 * Whether Velero would restore the subject's item: the restore filters, a name collision in the target,
 * then the plugin's restore action itself (an error or a skip). Returns the action's output when the
 * item is restored; otherwise the subject says why not.
 */
async function restoreVerdict(
    subject: RestoreSubject,
    resourceName: string,
    resource: typeof R.vms,
    item: KubeObject,
    action: RestoreAction,
    run: Run,
): Promise<Awaited<ReturnType<typeof runRestoreAction>> | undefined> {
    const filtered = filteredOut(run, resourceName, subject.namespace, item, true);
    if (filtered) {
        subject.reason = filtered;
        return undefined;
    }
    subject.restored = true;
    subject.reason = 'selected by the restore filters';
    if (await collisionFinding(subject, resource, run)) return undefined;
    const out = await runRestoreAction(action, item, run);
    for (const w of out.warnings) subject.findings.push(finding('warning', 'ActionWarning', w));
    if (out.error) {
        subject.refusals.push(out.error);
        subject.restored = false;
        subject.reason = `${action.name.replace(/^.*\//, '')} fails: Velero does not create it`;
        return undefined;
    }
    if (out.skip) {
        subject.restored = false;
        subject.reason = `${action.name} skips it`;
        return undefined;
    }
    return out;
}

/** A subject not (yet) restored, in its namespace and the one --namespace-mappings maps it to. */
function newSubject(kind: RestoreSubject['kind'], entry: { namespace: string; name: string }, run: Run): RestoreSubject {
    return {
        kind,
        namespace: entry.namespace,
        targetNamespace: targetNamespace(run.options.namespaceMapping, entry.namespace),
        name: entry.name,
        restored: false,
        reason: '',
        refusals: [],
        identity: [],
        related: [],
        findings: [],
    };
}

async function assessVm(entry: { namespace: string; name: string }, run: Run): Promise<RestoreSubject> {
    const subject = newSubject('VirtualMachine', entry, run);
    const vm = run.contents.get(VM_RESOURCE, entry.namespace, entry.name);
    if (!vm) {
        subject.reason = 'the item in the backup is not a JSON object';
        subject.findings.push(finding('error', 'InvalidItem', subject.reason));
        return subject;
    }
    const out = await restoreVerdict(subject, VM_RESOURCE, R.vms, vm, vmRestoreAction, run);
    if (!out) return subject;
    const restoredDvs = new Map<string, KubeObject>();
    await related(out.additional, subject, run, restoredDvs);
    subject.identity = await identityVerdicts(pathGet(vm, ['spec', 'template', 'spec']), pathGet(out.item, ['spec', 'template', 'spec']), 'spec.template.spec', subject, run);
    identityFindings(subject);
    const checks: StorageCheck[] = dataVolumeTemplateStorageClassFields(out.item.spec).map((f) => ({ field: `VM ${f.field}`, storageClass: f.value }));
    checks.push(...dataVolumeStorageChecks(restoredDvs, subject));
    checks.push(...(await pvcStorageChecks(subject, run)));
    await storageClassFindings(checks, subject, run);
    await networkFindings(pathGet(out.item, ['spec', 'template', 'spec']), subject, run);
    for (const [i, t] of arrayAt(out.item.spec, ['dataVolumeTemplates']).entries()) {
        const dvName = pathGet(t, ['metadata', 'name']);
        const restoredDv = typeof dvName === 'string' ? restoredDvs.get(dvName) : undefined;
        const prePopulated = restoredDv !== undefined && ANN.prePopulated in (restoredDv.metadata?.annotations ?? {});
        await sourceFindings(pathGet(t, ['spec']), `spec.dataVolumeTemplates[${i}].spec`, prePopulated, subject, run);
    }
    await dataVolumeSourceFindings(restoredDvs, subject, run);
    return subject;
}

async function assessVmi(entry: { namespace: string; name: string }, run: Run): Promise<RestoreSubject | undefined> {
    const vmi = run.contents.get(VMI_RESOURCE, entry.namespace, entry.name);
    if (!vmi || pathGet(vmi, ['metadata', 'annotations', ANN.isOwned]) === 'true') return undefined; // restore-vmi-action skips owned VMIs; their VM is the subject
    const subject = newSubject('VirtualMachineInstance', entry, run);
    if (Array.isArray(vmi.metadata?.ownerReferences) && vmi.metadata.ownerReferences.length > 0) return undefined;
    const out = await restoreVerdict(subject, VMI_RESOURCE, R.vmis, vmi, vmiRestoreAction, run);
    if (!out) return subject;
    const restoredDvs = new Map<string, KubeObject>();
    await related(out.additional, subject, run, restoredDvs);
    subject.identity = await identityVerdicts(vmi.spec, out.item.spec, 'spec', subject, run);
    identityFindings(subject);
    const checks = dataVolumeStorageChecks(restoredDvs, subject);
    checks.push(...(await pvcStorageChecks(subject, run)));
    await storageClassFindings(checks, subject, run);
    await networkFindings(out.item.spec, subject, run);
    await dataVolumeSourceFindings(restoredDvs, subject, run);
    return subject;
}

/** Problems of the Restore itself that every VM shares (the actions fail each VM with them). */
function restoreFindings(options: RestoreOptions): Finding[] {
    const out: Finding[] = [];
    for (const check of [() => options.runStrategy, () => options.identityPolicy]) {
        try {
            check();
        } catch (error) {
            out.push(finding('error', 'InvalidRestoreLabel', errorMessage(error)));
        }
    }
    return out;
}

export async function preflightRestore(restore: Restore, contents: BackupContents, cluster: ClusterReader, env: Env = process.env): Promise<RestorePreflightResult> {
    const options = parseRestoreOptions(restore, env);
    const run: Run = { restore, contents, cluster, captured: captureLog(), env, options };
    const findings = restoreFindings(options);
    for (const path of contents.rejected) findings.push(finding('warning', 'UnsafeTarEntry', `tar entry ignored: ${path}`));
    const subjects: RestoreSubject[] = [];
    for (const entry of contents.list(VM_RESOURCE)) {
        try {
            subjects.push(await assessVm(entry, run));
        } catch (error) {
            findings.push(finding('error', 'ClusterRead', `VirtualMachine ${entry.namespace}/${entry.name}: ${errorMessage(error)}`));
        }
    }
    for (const entry of contents.list(VMI_RESOURCE)) {
        try {
            const s = await assessVmi(entry, run);
            if (s) subjects.push(s);
        } catch (error) {
            findings.push(finding('error', 'ClusterRead', `VirtualMachineInstance ${entry.namespace}/${entry.name}: ${errorMessage(error)}`));
        }
    }
    return { subjects, findings };
}
