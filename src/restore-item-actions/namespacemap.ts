/**
 * Namespace mapping inside restored specs. Velero moves each restored object into the mapped namespace
 * (restore.spec.namespaceMapping, applied after the restore actions ran, so actions see the backup
 * namespace), but it never looks inside a KubeVirt or CDI spec. A VM whose multus network or whose
 * DataVolume source names a namespace that the Restore maps would otherwise keep pointing at the old
 * namespace. References to namespaces the Restore does not map (golden-image namespaces such as
 * openshift-virtualization-os-images) are left alone.
 */
import type { V1MultusNetwork } from '@kubevirt-ui-ext/kubevirt-api/kubevirt';
import type { V1beta1DataVolumeSourceRef } from '@kubevirt-ui-ext/kubevirt-api/containerized-data-importer';
import type { Logger } from '../logging/logger';
import { arrayAt, isRecord, pathGet } from '../kube/object';
import type { NamespaceMapping } from '../plugin/options';

/** The namespace an object of `namespace` lands in after Velero's mapping. */
export function targetNamespace(mapping: NamespaceMapping, namespace: string): string {
    return mapping.get(namespace) ?? namespace;
}

/** One rewritten reference, for the log line and for tests. */
export interface NamespaceRewrite {
    field: string;
    from: string;
    to: string;
}

const MULTUS_NAME: keyof V1MultusNetwork = 'networkName';
const SOURCE_REF_NAMESPACE: keyof V1beta1DataVolumeSourceRef = 'namespace';

/**
 * Rewrites `spec.networks[].multus.networkName` of a VMI spec (a VMI's spec or a VM's
 * spec.template.spec): "A/nad" becomes "B/nad" when the Restore maps A to B. A name without a
 * namespace part refers to the object's own namespace, which Velero maps already. Mutates `vmiSpec`.
 */
export function rewriteNetworks(vmiSpec: unknown, mapping: NamespaceMapping, fieldPrefix: string): NamespaceRewrite[] {
    if (mapping.size === 0) return [];
    const rewrites: NamespaceRewrite[] = [];
    arrayAt(vmiSpec, ['networks']).forEach((network, index) => {
        const multus = pathGet(network, ['multus']);
        if (!isRecord(multus)) return;
        const name = multus[MULTUS_NAME];
        if (typeof name !== 'string') return;
        const slash = name.indexOf('/');
        if (slash <= 0) return;
        const mapped = mapping.get(name.slice(0, slash));
        if (mapped === undefined) return;
        const to = `${mapped}${name.slice(slash)}`;
        multus[MULTUS_NAME] = to;
        rewrites.push({ field: `${fieldPrefix}.networks[${index}].multus.${MULTUS_NAME}`, from: name, to });
    });
    return rewrites;
}

/**
 * Rewrites the namespaces a DataVolume spec names as its source: `source.pvc.namespace` (clone),
 * `source.snapshot.namespace` (clone from a VolumeSnapshot) and `sourceRef.namespace` (DataSource).
 * An absent namespace means the DataVolume's own namespace and needs nothing. Mutates `dvSpec`.
 */
export function rewriteDataVolumeSpec(dvSpec: unknown, mapping: NamespaceMapping, fieldPrefix: string): NamespaceRewrite[] {
    if (mapping.size === 0) return [];
    const rewrites: NamespaceRewrite[] = [];
    for (const { path, holder, from, to } of dataVolumeSourceRewrites(dvSpec, mapping)) {
        holder[SOURCE_REF_NAMESPACE] = to;
        rewrites.push({ field: `${fieldPrefix}.${path}.${SOURCE_REF_NAMESPACE}`, from, to });
    }
    return rewrites;
}

/** Whether rewriteDataVolumeSpec would change `dvSpec` (it is not changed here). */
export function dataVolumeSpecNeedsRewrite(dvSpec: unknown, mapping: NamespaceMapping): boolean {
    return mapping.size > 0 && dataVolumeSourceRewrites(dvSpec, mapping).length > 0;
}

/** The source namespaces of a DataVolume spec that `mapping` maps, with where they are. */
function dataVolumeSourceRewrites(dvSpec: unknown, mapping: NamespaceMapping): { path: string; holder: Record<string, unknown>; from: string; to: string }[] {
    const found: { path: string; holder: Record<string, unknown>; from: string; to: string }[] = [];
    const holders: [string, unknown][] = [
        ['source.pvc', pathGet(dvSpec, ['source', 'pvc'])],
        ['source.snapshot', pathGet(dvSpec, ['source', 'snapshot'])],
        ['sourceRef', pathGet(dvSpec, ['sourceRef'])],
    ];
    for (const [path, holder] of holders) {
        if (!isRecord(holder)) continue;
        const from = holder[SOURCE_REF_NAMESPACE];
        if (typeof from !== 'string') continue;
        const to = mapping.get(from);
        if (to === undefined) continue;
        found.push({ path, holder, from, to });
    }
    return found;
}

/**
 * Rewrites every dataVolumeTemplates[].spec of a VM spec: a VM's spec, or the VM embedded in a
 * VirtualMachineTemplate or a VirtualMachinePool (`fieldPrefix` names where it sits). Mutates `vmSpec`.
 */
export function rewriteDataVolumeTemplates(vmSpec: unknown, mapping: NamespaceMapping, fieldPrefix = 'spec'): NamespaceRewrite[] {
    if (mapping.size === 0) return [];
    return arrayAt(vmSpec, ['dataVolumeTemplates']).flatMap((template, index) =>
        rewriteDataVolumeSpec(pathGet(template, ['spec']), mapping, `${fieldPrefix}.dataVolumeTemplates[${index}].spec`),
    );
}

/** One info line per rewritten reference. */
export function logRewrites(log: Logger, what: string, rewrites: readonly NamespaceRewrite[]): void {
    for (const r of rewrites) {
        log.info(`Mapping namespace reference ${r.field} of ${what} from ${r.from} to ${r.to}`);
    }
}
