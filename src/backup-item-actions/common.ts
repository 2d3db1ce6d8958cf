/**
 * Helpers shared by the backup action cores: input validation (bad input becomes an item-level
 * InvalidItem error, never a crash), the namespace view, and small mutations that report whether they
 * changed anything (a core returns `item` only when it did).
 */
import { loadView } from '../cluster/view';
import type { ClusterReader } from '../cluster/reader';
import { PluginError } from '../errors';
import { GRAPH_NEEDS, type ClusterView } from '../graph/index';
import { annotationsOf, isRecord, labelsOf, nameOf, namespaceOf, ownerReferencesOf, pathGet, setAnnotation, setLabel, type KubeObject, type OwnerReference } from '../kube/object';
import { KIND, R, type GroupResource } from '../kube/resources';
import { deepClone } from '../kube/json';
import { LABEL } from '../kube/annotations';
import type { Backup } from '../kube/velero';

export { KIND } from '../kube/resources';

/** What the backup actions read from a namespace: the graph's needs plus DataVolumes (restorability). */
export const BACKUP_NEEDS: readonly GroupResource[] = [...GRAPH_NEEDS, R.dataVolumes];

export function loadBackupView(cluster: ClusterReader, namespace: string): Promise<ClusterView> {
    return loadView(cluster, namespace, BACKUP_NEEDS);
}

/**
 * Velero always sends a Backup; the adapter turns missing bytes into {}. Either way there is nothing
 * to decide with, so the Go plugin's nil check keeps its text.
 */
export function requireBackup(backup: Backup | undefined | null): Backup {
    if (!isRecord(backup) || Object.keys(backup).length === 0) {
        throw new PluginError('Refused', 'backup object nil!: the request carried no Backup object');
    }
    return backup;
}

function groupOf(apiVersion: string | undefined): string {
    const v = apiVersion ?? '';
    const slash = v.indexOf('/');
    return slash < 0 ? '' : v.slice(0, slash);
}

/** The item is of this kind (and API group, when given), has a name and a metadata object. */
export function requireKind(item: KubeObject, kind: string, group?: string): void {
    if (item.kind !== kind) {
        throw new PluginError('InvalidItem', `expected a ${kind}, got kind ${JSON.stringify(item.kind ?? '')}`);
    }
    if (group !== undefined && groupOf(item.apiVersion) !== group) {
        throw new PluginError('InvalidItem', `expected apiVersion ${group}/*, got ${JSON.stringify(item.apiVersion ?? '')}`);
    }
    if (!isRecord(item.metadata)) throw new PluginError('InvalidItem', 'metadata is missing');
    if (!nameOf(item)) throw new PluginError('InvalidItem', 'metadata.name is missing');
}

/** A record at `path`, or an InvalidItem error naming the path. */
export function requireRecord(item: KubeObject, path: readonly string[]): Record<string, unknown> {
    const value = pathGet(item, path);
    if (!isRecord(value)) {
        const what = value === null ? 'null' : value === undefined ? 'missing' : `not an object`;
        throw new PluginError('InvalidItem', `${path.join('.')} is ${what}`);
    }
    return value;
}

/**
 * The volumes of a VMI spec (a VMI's spec or a VM's spec.template.spec). An absent list is empty; a
 * list that is not an array, or an entry that is not an object or has no name, is invalid. Unknown
 * volume types are fine: they carry nothing the backup must include.
 */
export function volumesOf(vmiSpec: Record<string, unknown>, where: string): Record<string, unknown>[] {
    const volumes = vmiSpec['volumes'];
    if (volumes === undefined || volumes === null) return [];
    if (!Array.isArray(volumes)) throw new PluginError('InvalidItem', `${where}.volumes is not a list`);
    return volumes.map((v: unknown, i: number) => {
        if (!isRecord(v)) throw new PluginError('InvalidItem', `${where}.volumes[${i}] is not an object`);
        if (typeof v['name'] !== 'string' || v['name'] === '') throw new PluginError('InvalidItem', `${where}.volumes[${i}] has no name`);
        return v;
    });
}

/** The owner reference of a VMI that is a KubeVirt VirtualMachine (kind and API group), if any. */
export function vmOwner(vmi: KubeObject): OwnerReference | undefined {
    return ownerReferencesOf(vmi).find((o) => o.kind === KIND.vm && groupOf(o.apiVersion) === 'kubevirt.io' && typeof o.name === 'string' && o.name !== '');
}

/** A condition of status.conditions with status "True". */
export function conditionTrue(obj: KubeObject, type: string): boolean {
    const conditions = pathGet(obj, ['status', 'conditions']);
    if (!Array.isArray(conditions)) return false;
    return conditions.some((c: unknown) => isRecord(c) && c['type'] === type && c['status'] === 'True');
}

export function setAnnotationIfChanged(obj: KubeObject, key: string, value: string): boolean {
    if (annotationsOf(obj)[key] === value) return false;
    setAnnotation(obj, key, value);
    return true;
}

export function setLabelIfChanged(obj: KubeObject, key: string, value: string): boolean {
    if (labelsOf(obj)[key] === value) return false;
    setLabel(obj, key, value);
    return true;
}

/** "ns/name" of an object, for log and error texts. */
export function nsName(obj: KubeObject): string {
    return `${namespaceOf(obj)}/${nameOf(obj)}`;
}

/**
 * Labels a copy of `item` velero.kubevirt.io/pvc-uid=<uid> (selective restore by PVC UID), keeping a
 * value the user had set in `originalAnnotation`. Returns the copy, or undefined when nothing changed.
 */
export function withPvcUidLabel(item: KubeObject, uid: string, originalAnnotation: string): KubeObject | undefined {
    const out = deepClone(item);
    const existing = labelsOf(item)[LABEL.pvcUid];
    const changes = [
        existing !== undefined && setAnnotationIfChanged(out, originalAnnotation, String(existing)),
        setLabelIfChanged(out, LABEL.pvcUid, uid),
    ];
    return changes.some(Boolean) ? out : undefined;
}
