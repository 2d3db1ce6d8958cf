/**
 * Helpers shared by the backup action cores: input validation (bad input becomes an item-level
 * InvalidItem error, never a crash), the namespace view, and small mutations of the copy a core
 * returns. Kind checks and the Backup's presence are the adapter's (src/plugin/adapter.ts).
 */
import { loadView } from '../cluster/view';
import type { ClusterReader } from '../cluster/reader';
import { PluginError } from '../errors';
import { encodeRefs, GRAPH_NEEDS, type ClusterView } from '../graph/index';
import { describe, isRecord, type KubeObject, labelOf, namespaceOf, pathGet, setAnnotation, setLabel } from '../kube/object';
import { R, type GroupResource, type ObjectRef } from '../kube/resources';
import { ANN, LABEL } from '../kube/annotations';
import { deepClone } from '../kube/json';
import { PLUGIN_PREFIX, type BackupAction } from '../plugin/contract';

export { KIND } from '../kube/resources';

/** What the backup actions read from a namespace: the graph's needs plus DataVolumes (restorability). */
export const BACKUP_NEEDS: readonly GroupResource[] = [...GRAPH_NEEDS, R.dataVolumes];

export function loadBackupView(cluster: ClusterReader, namespace: string): Promise<ClusterView> {
    return loadView(cluster, namespace, BACKUP_NEEDS);
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

/** A condition of status.conditions with status "True". */
export function conditionTrue(obj: KubeObject, type: string): boolean {
    const conditions = pathGet(obj, ['status', 'conditions']);
    if (!Array.isArray(conditions)) return false;
    return conditions.some((c: unknown) => isRecord(c) && c['type'] === type && c['status'] === 'True');
}

/**
 * Labels `out` (a core's copy) velero.kubevirt.io/pvc-uid=<uid> (selective restore by PVC UID), keeping
 * a value the user had set in `originalAnnotation`. Mutates and returns `out`.
 */
export function withPvcUidLabel(out: KubeObject, uid: string, originalAnnotation: string): KubeObject {
    const existing = labelOf(out, LABEL.pvcUid);
    if (existing !== undefined) setAnnotation(out, originalAnnotation, String(existing));
    setLabel(out, LABEL.pvcUid, uid);
    return out;
}

/** A backup action that brings related objects and records a restore graph on the item (templates, pools). */
export interface RecordingActionSpec {
    /** The action's name after the plugin prefix. */
    action: string;
    resource: string;
    kind: string;
    group: string;
    /** Paths that must be objects ("spec", "spec.virtualMachine"). */
    required: readonly (readonly string[])[];
    /** What the action reads from the item's namespace. */
    needs: readonly GroupResource[];
    /** The additional items. */
    related(item: KubeObject, view: ClusterView): ObjectRef[];
    /** What to record in velero.kubevirt.io/restore-graph (src/graph/record.ts). */
    recorded(item: KubeObject, view: ClusterView, related: ObjectRef[]): ObjectRef[];
}

/** The skeleton the VirtualMachineTemplate and VirtualMachinePool backup actions share. */
export function recordingBackupAction(spec: RecordingActionSpec): BackupAction {
    return {
        name: `${PLUGIN_PREFIX}/${spec.action}`,
        appliesTo: { includedResources: [spec.resource], kinds: [{ kind: spec.kind, group: spec.group }] },
        requiresBackup: true,
        async execute({ item }, { cluster, log }) {
            for (const path of spec.required) requireRecord(item, path);
            const view = await loadView(cluster, namespaceOf(item), spec.needs);
            const additionalItems = spec.related(item, view);
            log.debug(`${describe(item, spec.kind)}: ${additionalItems.length} related objects`);
            const out = deepClone(item);
            setAnnotation(out, ANN.restoreGraph, encodeRefs(spec.recorded(item, view, additionalItems)));
            return { item: out, additionalItems };
        },
    };
}
