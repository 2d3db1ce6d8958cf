/**
 * Whether an object will end up in a backup, decided the way Velero decides it. Pure: no I/O.
 *
 * Velero's rules (pkg/backup/item_collector.go, pkg/util/collections/includes_excludes.go):
 *  - Resource filters. Entries are resolved through API discovery, so short names (vm, po, pvc),
 *    singular and plural names, kind names (any case: "VirtualMachine" lower-cases to the singular) and
 *    group-qualified names ("virtualmachines.kubevirt.io") all name the same resource. "*" means all; other
 *    entries may be globs matched against "<resource>.<group>". An empty include list means all; an
 *    exclusion always wins over an inclusion.
 *  - Two generations of filters: the old includedResources/excludedResources and the scoped
 *    included/excludedNamespaceScopedResources (the cluster-scoped ones never concern the namespaced
 *    objects we ask about). Velero refuses a Backup that mixes them, so requiring both to admit the
 *    resource is the same as choosing whichever is in use.
 *  - The label velero.io/exclude-from-backup=true on the object drops it, whatever the filters say.
 *  - The backup's labelSelector / orLabelSelectors are applied only when Velero *lists* a resource to
 *    collect items. Additional items returned by a BackupItemAction and related items returned by an
 *    ItemBlockAction are fetched by name and are NOT matched against the selectors (only the resource
 *    filters, the namespace filters and the exclude label apply to them).
 *
 * Consequence for the actions: the VMI, launcher pods, DataVolumes and PVCs of a VM reach the backup as
 * additional/related items of the VM (or of a standalone VMI), so their presence depends on the
 * resource filters and the exclude label only ({@link additionalItemInBackup}). The VM that owns a VMI
 * is not an additional item of anything we return: it is in the backup only if Velero lists it, so the
 * label selectors apply to it as well ({@link listedItemInBackup}). Namespace filters never matter here:
 * every object we ask about lives in the namespace of the item being backed up.
 */
import { type KubeObject, labelOf, labelsOf } from '../kube/object';
import { LABEL } from '../kube/annotations';
import { R, type GroupResource } from '../kube/resources';
import type { Backup, LabelSelector } from '../kube/velero';

/** The names a user may give each resource we ask about (all lower case; kind names lower-cased). */
const ALIASES: ReadonlyMap<string, readonly string[]> = new Map([
    [key(R.pods), ['pods', 'pod', 'po']],
    [key(R.pvcs), ['persistentvolumeclaims', 'persistentvolumeclaim', 'pvc', 'pvcs']],
    [key(R.vms), ['virtualmachines', 'virtualmachine', 'vm', 'vms']],
    [key(R.vmis), ['virtualmachineinstances', 'virtualmachineinstance', 'vmi', 'vmis']],
    [key(R.vmirs), ['virtualmachineinstancereplicasets', 'virtualmachineinstancereplicaset', 'vmirs', 'vmirss']],
    [key(R.dataVolumes), ['datavolumes', 'datavolume', 'dv', 'dvs']],
    [key(R.volumeSnapshots), ['volumesnapshots', 'volumesnapshot', 'vs']],
    [key(R.secrets), ['secrets', 'secret']],
    [key(R.configMaps), ['configmaps', 'configmap', 'cm']],
    [key(R.serviceAccounts), ['serviceaccounts', 'serviceaccount', 'sa']],
    [key(R.controllerRevisions), ['controllerrevisions', 'controllerrevision']],
]);

function key(resource: { group: string; resource: string }): string {
    return `${resource.resource}.${resource.group}`;
}

/** "pods" or "virtualmachines.kubevirt.io", the string Velero matches filter entries against. */
function canonical(resource: GroupResource): string {
    return resource.group ? `${resource.resource}.${resource.group}` : resource.resource;
}

function isGlob(entry: string): boolean {
    return /[*?[\]{}]/.test(entry);
}

function globToRegExp(glob: string): RegExp {
    let out = '';
    for (const ch of glob) {
        if (ch === '*') out += '.*';
        else if (ch === '?') out += '.';
        else out += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${out}$`);
}

/** Does one filter entry name the resource? */
export function entryMatches(entry: string, resource: GroupResource): boolean {
    const e = entry.trim().toLowerCase();
    if (e === '') return false;
    if (e === '*') return true;
    if (isGlob(e)) return globToRegExp(e).test(canonical(resource));
    const dot = e.indexOf('.');
    const name = dot < 0 ? e : e.slice(0, dot);
    const group = dot < 0 ? undefined : e.slice(dot + 1);
    if (group !== undefined && group !== resource.group) return false;
    const aliases = ALIASES.get(key(resource)) ?? [resource.resource];
    return aliases.includes(name);
}

function listOf(value: unknown): string[] {
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Velero's IncludesExcludes.ShouldInclude for one include/exclude pair. */
function filterAdmits(includes: string[], excludes: string[], resource: GroupResource): boolean {
    if (excludes.some((e) => entryMatches(e, resource))) return false;
    return includes.length === 0 || includes.some((e) => entryMatches(e, resource));
}

/** Do the backup's resource filters (old and scoped) admit this namespaced resource? */
export function resourceInBackup(backup: Backup, resource: GroupResource): boolean {
    const spec = backup.spec ?? {};
    return (
        filterAdmits(listOf(spec.includedResources), listOf(spec.excludedResources), resource) &&
        filterAdmits(listOf(spec.includedNamespaceScopedResources), listOf(spec.excludedNamespaceScopedResources), resource)
    );
}

/** The object carries velero.io/exclude-from-backup=true (exact value, as Velero compares it). */
export function excludedByLabel(obj: KubeObject): boolean {
    return labelOf(obj, LABEL.exclude) === 'true';
}

/** One Kubernetes label selector against a label map. An operator we do not know matches nothing. */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, unknown>>): boolean {
    for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
        if (labels[k] !== v) return false;
    }
    for (const expr of selector.matchExpressions ?? []) {
        // A label whose value is not a string (an edited item) is no label.
        const value = Object.prototype.hasOwnProperty.call(labels, expr.key) ? labels[expr.key] : undefined;
        const has = typeof value === 'string';
        const values = expr.values ?? [];
        switch (expr.operator) {
            case 'In':
                if (!has || !values.includes(value)) return false;
                break;
            case 'NotIn':
                if (has && values.includes(value)) return false;
                break;
            case 'Exists':
                if (!has) return false;
                break;
            case 'DoesNotExist':
                if (has) return false;
                break;
            default:
                return false;
        }
    }
    return true;
}

/** Would Velero's item collector pick the object up given the backup's labelSelector / orLabelSelectors? */
export function matchesBackupSelectors(backup: Backup, obj: KubeObject): boolean {
    const labels = labelsOf(obj);
    const spec = backup.spec ?? {};
    if (spec.labelSelector && !selectorMatches(spec.labelSelector, labels)) return false;
    const ors = Array.isArray(spec.orLabelSelectors) ? spec.orLabelSelectors : [];
    if (ors.length > 0 && !ors.some((s) => selectorMatches(s, labels))) return false;
    return true;
}

/** An object that reaches the backup as an additional/related item: resource filters + exclude label. */
export function additionalItemInBackup(backup: Backup, resource: GroupResource, obj: KubeObject): boolean {
    return resourceInBackup(backup, resource) && !excludedByLabel(obj);
}

/** An object that reaches the backup only by Velero listing it: also the label selectors. */
export function listedItemInBackup(backup: Backup, resource: GroupResource, obj: KubeObject): boolean {
    return additionalItemInBackup(backup, resource, obj) && matchesBackupSelectors(backup, obj);
}
