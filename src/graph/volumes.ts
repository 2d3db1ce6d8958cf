/**
 * The graph of a VMI spec (a VMI's spec or a VM's spec.template.spec): what its volumes, its persistent
 * TPM/EFI state, its access credentials and its Multus networks refer to. Shared by the backup and the
 * restore graphs of VMs, VMIs and VMIRSs.
 *
 * Order: volumes in spec order, then the backend-storage PVC(s), then access-credential secrets, then
 * NetworkAttachmentDefinitions. The first three groups keep the Go plugin's order.
 */
import { LABEL } from '../kube/annotations';
import { isRecord, nameOf, ownerOfKind, stringAt, type KubeObject } from '../kube/object';
import type { ObjectRef } from '../kube/resources';
import { KIND, R } from '../kube/resources';
import { indexedRecords, isTrue, push, withLabel } from './common';
import type { ClusterView } from './view';

/** Prefix of the legacy (KubeVirt < 1.4, unlabelled) backend-storage PVC name: persistent-state-for-<vm>. */
export const BACKEND_PVC_PREFIX = 'persistent-state-for-';

export interface SpecContext {
    namespace: string;
    view: ClusterView;
    /** Path of the VMI spec inside the item ("spec", "spec.template.spec"), for the refs' `field`. */
    field: string;
    /**
     * Name the backend-storage PVC belongs to (the VM name, or the VMI name for a VMI). Undefined skips
     * the backend PVC (a VMIRS template has no state of its own).
     */
    backendOwner?: string | undefined;
}

/** The name of the DataVolume that owns a PVC (ownerReference kind DataVolume, group cdi.kubevirt.io), if any. */
export function owningDataVolume(pvc: KubeObject): string | undefined {
    return ownerOfKind(pvc, KIND.dataVolume, R.dataVolumes.group)?.name;
}

/** PVC claim → the claim, then the DataVolume owning it when the view knows the PVC. */
function claimRefs(out: ObjectRef[], claimName: string, ctx: SpecContext, field: string): void {
    push(out, R.pvcs, ctx.namespace, claimName, field);
    if (!claimName) return;
    const pvc = ctx.view.get(R.pvcs, ctx.namespace, claimName);
    const dv = pvc ? owningDataVolume(pvc) : undefined;
    if (dv) push(out, R.dataVolumes, ctx.namespace, dv, `ownerReferences of the PVC named by ${field}`);
}

/** DataVolumes and PVCs of one volume (the only kinds an ItemBlock needs); `at` is the volume's path. */
function volumeStorageRefs(out: ObjectRef[], volume: Record<string, unknown>, ctx: SpecContext, at: string): boolean {
    const ns = ctx.namespace;
    if (isRecord(volume.dataVolume)) {
        const name = stringAt(volume, ['dataVolume', 'name']);
        push(out, R.dataVolumes, ns, name, `${at}.dataVolume.name`);
        push(out, R.pvcs, ns, name, `${at}.dataVolume.name`);
        return true;
    }
    if (isRecord(volume.persistentVolumeClaim)) {
        claimRefs(out, stringAt(volume, ['persistentVolumeClaim', 'claimName']), ctx, `${at}.persistentVolumeClaim.claimName`);
        return true;
    }
    if (isRecord(volume.memoryDump)) {
        push(out, R.pvcs, ns, stringAt(volume, ['memoryDump', 'claimName']), `${at}.memoryDump.claimName`);
        return true;
    }
    return false;
}

/** Everything one volume refers to. Unknown or malformed volume sources add nothing. */
function volumeRefs(out: ObjectRef[], volume: Record<string, unknown>, ctx: SpecContext, at: string): void {
    if (volumeStorageRefs(out, volume, ctx, at)) return;
    const ns = ctx.namespace;
    if (isRecord(volume.configMap)) {
        push(out, R.configMaps, ns, stringAt(volume, ['configMap', 'name']), `${at}.configMap.name`);
    } else if (isRecord(volume.secret)) {
        push(out, R.secrets, ns, stringAt(volume, ['secret', 'secretName']), `${at}.secret.secretName`);
    } else if (isRecord(volume.serviceAccount)) {
        push(out, R.serviceAccounts, ns, stringAt(volume, ['serviceAccount', 'serviceAccountName']), `${at}.serviceAccount.serviceAccountName`);
    } else if (isRecord(volume.cloudInitNoCloud) || isRecord(volume.cloudInitConfigDrive)) {
        const source = isRecord(volume.cloudInitNoCloud) ? 'cloudInitNoCloud' : 'cloudInitConfigDrive';
        // The user-data secret reference is serialised as `secretRef`.
        push(out, R.secrets, ns, stringAt(volume, [source, 'secretRef', 'name']), `${at}.${source}.secretRef.name`);
        push(out, R.secrets, ns, stringAt(volume, [source, 'networkDataSecretRef', 'name']), `${at}.${source}.networkDataSecretRef.name`);
    } else if (isRecord(volume.sysprep)) {
        push(out, R.configMaps, ns, stringAt(volume, ['sysprep', 'configMap', 'name']), `${at}.sysprep.configMap.name`);
        push(out, R.secrets, ns, stringAt(volume, ['sysprep', 'secret', 'name']), `${at}.sysprep.secret.name`);
    }
}

/** Whether the spec keeps vTPM or EFI state in a backend-storage PVC. */
export function hasPersistentState(spec: unknown): boolean {
    return isTrue(spec, ['domain', 'devices', 'tpm', 'persistent']) || isTrue(spec, ['domain', 'firmware', 'bootloader', 'efi', 'persistent']);
}

/**
 * Backend-storage PVC names of `owner`: the PVCs labelled persistent-state-for=<owner> in the view, or,
 * when none is labelled (KubeVirt < 1.4), the legacy name persistent-state-for-<owner>.
 */
export function backendPvcNames(owner: string, namespace: string, view: ClusterView): string[] {
    if (!owner) return [];
    const labelled = withLabel(view.list(R.pvcs, namespace), LABEL.persistentStateFor, owner).map(nameOf);
    return labelled.length > 0 ? labelled : [`${BACKEND_PVC_PREFIX}${owner}`];
}

function backendRefs(out: ObjectRef[], spec: unknown, ctx: SpecContext): void {
    if (ctx.backendOwner === undefined || !hasPersistentState(spec)) return;
    const field = `backend-storage PVC of metadata.name (${LABEL.persistentStateFor}; ${ctx.field}.domain keeps TPM/EFI state)`;
    for (const name of backendPvcNames(ctx.backendOwner, ctx.namespace, ctx.view)) push(out, R.pvcs, ctx.namespace, name, field);
}

/** Both kinds of credential secrets are followed, also when one entry sets both. */
function credentialRefs(out: ObjectRef[], spec: unknown, ctx: SpecContext): void {
    for (const [entry, i] of indexedRecords(spec, ['accessCredentials'])) {
        const at = `${ctx.field}.accessCredentials[${i}]`;
        push(out, R.secrets, ctx.namespace, stringAt(entry, ['sshPublicKey', 'source', 'secret', 'secretName']), `${at}.sshPublicKey.source.secret.secretName`);
        push(out, R.secrets, ctx.namespace, stringAt(entry, ['userPassword', 'source', 'secret', 'secretName']), `${at}.userPassword.source.secret.secretName`);
    }
}

/**
 * The NetworkAttachmentDefinition a Multus network names, when it lives in `namespace`.
 * `networkName` is `<name>` (the VMI's namespace) or `<namespace>/<name>`.
 */
export function nadName(networkName: string, namespace: string): string | undefined {
    const slash = networkName.indexOf('/');
    if (slash < 0) return networkName || undefined;
    const nadNamespace = networkName.slice(0, slash);
    const name = networkName.slice(slash + 1);
    return nadNamespace === namespace && name ? name : undefined;
}

function networkRefs(out: ObjectRef[], spec: unknown, ctx: SpecContext): void {
    for (const [network, i] of indexedRecords(spec, ['networks'])) {
        const name = nadName(stringAt(network, ['multus', 'networkName']), ctx.namespace);
        if (name) push(out, R.networkAttachmentDefinitions, ctx.namespace, name, `${ctx.field}.networks[${i}].multus.networkName`);
    }
}

/** The full graph of a VMI spec: volumes, backend PVC, access credentials, NADs. */
export function vmiSpecGraph(spec: unknown, ctx: SpecContext): ObjectRef[] {
    const out: ObjectRef[] = [];
    for (const [volume, i] of indexedRecords(spec, ['volumes'])) volumeRefs(out, volume, ctx, `${ctx.field}.volumes[${i}]`);
    backendRefs(out, spec, ctx);
    credentialRefs(out, spec, ctx);
    networkRefs(out, spec, ctx);
    return out;
}

/** Only the storage of a VMI spec: DataVolumes and PVCs of its volumes, then the backend PVC. */
export function vmiSpecStorage(spec: unknown, ctx: SpecContext): ObjectRef[] {
    const out: ObjectRef[] = [];
    for (const [volume, i] of indexedRecords(spec, ['volumes'])) volumeStorageRefs(out, volume, ctx, `${ctx.field}.volumes[${i}]`);
    backendRefs(out, spec, ctx);
    return out;
}
