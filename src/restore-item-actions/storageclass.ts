/**
 * Storage-class remapping for the CDI objects Velero's own change-storage-class action does not know.
 *
 * Velero reads one ConfigMap in its own namespace, labelled `velero.io/plugin-config` (any value) and
 * `velero.io/change-storage-class: RestoreItemAction`, whose data maps old storage-class names to new
 * ones, and rewrites PersistentVolumeClaims, PersistentVolumes and StatefulSets with it. It does not
 * rewrite DataVolumes (`spec.pvc.storageClassName`, `spec.storage.storageClassName`) nor the
 * `spec.dataVolumeTemplates[]` of a VirtualMachine; this module does, with the same ConfigMap.
 *
 * PVCs are deliberately not handled here: Velero's built-in action already rewrites every restored PVC,
 * including the TPM / persistent-EFI state PVC (`persistent-state-for-<vm>`), whose storage class comes
 * from the PVC itself (KubeVirt picks it from its own vmStateStorageClass setting at creation and never
 * names it in the VM). Rewriting it twice would be harmless but redundant.
 *
 * The ConfigMap is read only when an item actually names a storage class, through the cached
 * cluster reader (one LIST of ConfigMaps in the Velero namespace per process). The namespace is an
 * option of the call (RestoreOptions.veleroNamespace, from VELERO_NAMESPACE).
 */
import type { V1beta1DataVolumeSpec } from '@kubevirt-ui-ext/kubevirt-api/containerized-data-importer';
import type { ClusterReader } from '../cluster/reader';
import { PluginError } from '../errors';
import type { Logger } from '../logging/logger';
import { arrayAt, isRecord, labelsOf, nameOf, pathGet, type KubeObject } from '../kube/object';
import { R } from '../kube/resources';

export const CHANGE_STORAGE_CLASS_LABELS = {
    pluginConfig: 'velero.io/plugin-config',
    changeStorageClass: 'velero.io/change-storage-class',
} as const;
export const CHANGE_STORAGE_CLASS_KIND = 'RestoreItemAction';
export const CHANGE_STORAGE_CLASS_SELECTOR = `${CHANGE_STORAGE_CLASS_LABELS.pluginConfig},${CHANGE_STORAGE_CLASS_LABELS.changeStorageClass}=${CHANGE_STORAGE_CLASS_KIND}`;

/** The old→new map of one change-storage-class ConfigMap. */
export interface StorageClassMap {
    /** "namespace/name" of the ConfigMap, for messages. */
    readonly source: string;
    readonly data: ReadonlyMap<string, string>;
}

/**
 * Finds the change-storage-class ConfigMap in `namespace`. None → undefined; more than one → the same
 * refusal as Velero's (it does not pick one either).
 */
export async function loadStorageClassMap(cluster: ClusterReader, namespace: string): Promise<StorageClassMap | undefined> {
    const all = await cluster.list(R.configMaps, namespace);
    const matching = all.filter((cm) => {
        const labels = labelsOf(cm);
        return CHANGE_STORAGE_CLASS_LABELS.pluginConfig in labels && labels[CHANGE_STORAGE_CLASS_LABELS.changeStorageClass] === CHANGE_STORAGE_CLASS_KIND;
    });
    if (matching.length === 0) return undefined;
    if (matching.length > 1) {
        const names = matching.map(nameOf).sort().join(', ');
        throw new PluginError('InvalidConfig', `found more than one ConfigMap matching label selector "${CHANGE_STORAGE_CLASS_SELECTOR}" in namespace ${namespace}: [${names}]`);
    }
    const cm = matching[0] as KubeObject;
    const data = new Map<string, string>();
    const raw = cm['data'];
    if (isRecord(raw)) {
        for (const [from, to] of Object.entries(raw)) data.set(from, typeof to === 'string' ? to : '');
    }
    return { source: `${namespace}/${nameOf(cm)}`, data };
}

/** A place in an item that names a storage class. */
export interface StorageClassField {
    holder: Record<string, unknown>;
    field: string;
    value: string;
}

const STORAGE_CLASS_NAME = 'storageClassName';
const DV_STORAGE_HOLDERS: readonly (keyof V1beta1DataVolumeSpec)[] = ['pvc', 'storage'];

/** `spec.pvc.storageClassName` and `spec.storage.storageClassName` of a DataVolume spec, when set. */
export function dataVolumeStorageClassFields(dvSpec: unknown, fieldPrefix: string): StorageClassField[] {
    const out: StorageClassField[] = [];
    for (const key of DV_STORAGE_HOLDERS) {
        const holder = pathGet(dvSpec, [key]);
        if (!isRecord(holder)) continue;
        const value = holder[STORAGE_CLASS_NAME];
        if (typeof value !== 'string' || value === '') continue;
        out.push({ holder, field: `${fieldPrefix}.${key}.${STORAGE_CLASS_NAME}`, value });
    }
    return out;
}

/** The storage-class fields of every spec.dataVolumeTemplates[] of a VM spec. */
export function dataVolumeTemplateStorageClassFields(vmSpec: unknown): StorageClassField[] {
    return arrayAt(vmSpec, ['dataVolumeTemplates']).flatMap((template, index) =>
        dataVolumeStorageClassFields(pathGet(template, ['spec']), `spec.dataVolumeTemplates[${index}].spec`),
    );
}

/** One storage-class field and the name it is to get. */
interface StorageClassRemap {
    field: StorageClassField;
    to: string;
}

/**
 * What the change-storage-class ConfigMap does to `fields`, without changing anything. Reads the
 * ConfigMap only when there is a field to map. A mapping to an empty name is a configuration error
 * naming the ConfigMap and the key; it fails only the items that use that key.
 */
export async function planStorageClassRemaps(fields: readonly StorageClassField[], cluster: ClusterReader, veleroNamespace: string): Promise<StorageClassRemap[]> {
    if (fields.length === 0) return [];
    const map = await loadStorageClassMap(cluster, veleroNamespace);
    if (!map) return [];
    const remaps: StorageClassRemap[] = [];
    for (const f of fields) {
        const to = map.data.get(f.value);
        if (to === undefined) continue;
        if (to.trim() === '') {
            throw new PluginError('InvalidConfig', `ConfigMap ${map.source}: key "${f.value}" maps storage class ${f.value} to an empty name`);
        }
        if (to === f.value) continue;
        remaps.push({ field: f, to });
    }
    return remaps;
}

/**
 * Applies the change-storage-class ConfigMap to `fields` (mutating their holders; see
 * planStorageClassRemaps), one info line per field changed. Returns the number of fields changed.
 */
export async function remapStorageClasses(fields: readonly StorageClassField[], cluster: ClusterReader, log: Logger, what: string, veleroNamespace: string): Promise<number> {
    const remaps = await planStorageClassRemaps(fields, cluster, veleroNamespace);
    for (const { field: f, to } of remaps) {
        f.holder[STORAGE_CLASS_NAME] = to;
        log.info(`Updating storage class of ${f.field} of ${what} from ${f.value} to ${to}`);
    }
    return remaps.length;
}
