/**
 * VM simulation: there is no KVM, no kubelet and no KubeVirt/CDI controller in the lab, so a scenario is
 * created the way those controllers would have left it — from the sample objects of manifests/samples.
 *
 * createVmScenario(lab, namespace, source):
 *  - objects are created owners first (ownerReferences), with a kind order as tie-breaker: Namespace,
 *    cluster-scoped objects, ServiceAccounts, Secrets/ConfigMaps/NADs, instancetypes/preferences,
 *    DataVolumes, PVCs, VMs, ControllerRevisions, VMIRSs, VMIs, Pods;
 *  - every placeholder uid of the samples is replaced (everywhere: ownerReferences, the launcher pods'
 *    kubevirt.io/created-by label, VMI status.activePods keys, cdi.kubevirt.io/createdForDataVolume,
 *    volume-import-source names, launcher --uid arguments) by the uid the API server gave the owner;
 *  - a bound PVC gets a pre-created PersistentVolume (CSI, fake handle, reclaim policy Delete, claimRef
 *    with the PVC's real uid) and the StorageClass it names if missing; PV and PVC phases are Bound;
 *  - statuses are written last, through the status subresource (after all uids are known);
 *  - with a namespace different from the sample's, the sample is moved there (metadata, hook commands,
 *    launcher arguments).
 * On an existing cluster (KVP_LAB_KUBECONFIG) it creates only what a user creates (VMs, VMIs without a
 * VM owner, DataVolumes not owned by a VM, standalone PVCs, Secrets, ConfigMaps, ...) without status,
 * and leaves the rest to the real KubeVirt and CDI.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { KubeObject } from '../../src/kube/object';
import { deepClone } from '../../src/kube/json';
import { REPO, parseYamlObjects, type Lab } from './lab';
import { readFileSync } from 'node:fs';
import { CSI_DRIVER } from './cluster';

export const SAMPLES = join(REPO, 'manifests', 'samples');

/** The objects of a sample file (a name in manifests/samples or a path), in file order. */
export function loadSample(file: string): KubeObject[] {
    const path = isAbsolute(file) || existsSync(file) ? file : join(SAMPLES, file);
    return parseYamlObjects(readFileSync(path, 'utf8'));
}

const KIND_ORDER: Record<string, number> = {
    Namespace: 0,
    StorageClass: 1,
    VirtualMachineClusterInstancetype: 1,
    VirtualMachineClusterPreference: 1,
    ServiceAccount: 2,
    Secret: 3,
    ConfigMap: 3,
    NetworkAttachmentDefinition: 3,
    VirtualMachineInstancetype: 4,
    VirtualMachinePreference: 4,
    DataSource: 4,
    DataVolume: 5,
    PersistentVolumeClaim: 6,
    VirtualMachine: 7,
    ControllerRevision: 8,
    VirtualMachineInstanceReplicaSet: 8,
    VirtualMachineInstance: 9,
    Pod: 10,
};
const CLUSTER_KINDS = new Set(['Namespace', 'StorageClass', 'PersistentVolume', 'VirtualMachineClusterInstancetype', 'VirtualMachineClusterPreference']);
/** The driver of a claim that names no provisioner: the lab's CSI driver (cluster.ts). */
const FAKE_CSI_DRIVER = CSI_DRIVER;

function order(o: KubeObject): number {
    return KIND_ORDER[o.kind ?? ''] ?? 11;
}

/** Replaces substrings in every string value and key of a JSON tree. */
function replaceDeep(value: unknown, map: ReadonlyMap<string, string>): unknown {
    if (map.size === 0) return value;
    const fix = (s: string): string => {
        let out = s;
        for (const [from, to] of map) if (out.includes(from)) out = out.split(from).join(to);
        return out;
    };
    if (typeof value === 'string') return fix(value);
    if (Array.isArray(value)) return value.map((v) => replaceDeep(v, map));
    if (value !== null && typeof value === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) out[fix(k)] = replaceDeep(v, map);
        return out;
    }
    return value;
}

/** Replaces a name (a namespace): exact string values, and quoted ones inside JSON-ish strings. */
function moveNamespace(value: unknown, from: string, to: string): unknown {
    if (typeof value === 'string') {
        if (value === from) return to;
        return value.split(`"${from}"`).join(`"${to}"`);
    }
    if (Array.isArray(value)) return value.map((v) => moveNamespace(v, from, to));
    if (value !== null && typeof value === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) out[k] = moveNamespace(v, from, to);
        return out;
    }
    return value;
}

function sampleNamespace(objs: readonly KubeObject[]): string | undefined {
    return objs.find((o) => o.kind === 'Namespace')?.metadata?.name ?? objs.find((o) => o.metadata?.namespace)?.metadata?.namespace;
}

function key(o: KubeObject): string {
    return `${o.kind ?? ''}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

export interface ScenarioOptions {
    /** Skip the status writes (objects as a fresh create leaves them). */
    noStatus?: boolean;
    /**
     * Renames applied before creation, old -> new, to every string value equal to old and to every
     * quoted "old" inside a string (e.g. { 'test-dv': 'creds-dv' } to put two samples in one namespace).
     */
    renames?: Record<string, string>;
}

/**
 * Creates a scenario (a sample file name, a path, or objects) in `namespace` (undefined: the sample's own).
 * Resolves to the objects as the API server stores them at the end, in creation order (PVs and
 * StorageClasses the helper added included).
 */
export async function createVmScenario(lab: Lab, namespace: string | undefined, source: string | KubeObject[], opts: ScenarioOptions = {}): Promise<KubeObject[]> {
    let objs = (typeof source === 'string' ? loadSample(source) : source).map((o) => deepClone<KubeObject>(o));
    const from = sampleNamespace(objs);
    if (namespace !== undefined && from !== undefined && namespace !== from) {
        objs = objs.map((o) => moveNamespace(o, from, namespace) as KubeObject);
    }
    for (const [a, b] of Object.entries(opts.renames ?? {})) objs = objs.map((o) => moveNamespace(o, a, b) as KubeObject);
    if (namespace !== undefined && !objs.some((o) => o.kind === 'Namespace')) {
        objs.unshift({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'kubernetes.io/metadata.name': namespace } } });
    }
    return lab.isExistingCluster ? createReal(lab, objs) : createSimulated(lab, objs, opts);
}

// eslint-disable-next-line complexity -- what the controllers would do, one branch per kind
async function createSimulated(lab: Lab, input: KubeObject[], opts: ScenarioOptions): Promise<KubeObject[]> {
    const sampleUids = new Set(input.map((o) => o.metadata?.uid).filter((u): u is string => typeof u === 'string'));
    const uidMap = new Map<string, string>();
    const pending = input.map((o, i) => ({ o, i }));
    const created: { obj: KubeObject; status?: unknown }[] = [];

    const ready = (o: KubeObject): boolean => (o.metadata?.ownerReferences ?? []).every((r) => r.uid === undefined || !sampleUids.has(r.uid) || uidMap.has(r.uid));

    while (pending.length > 0) {
        pending.sort((a, b) => order(a.o) - order(b.o) || a.i - b.i);
        const idx = pending.findIndex((p) => ready(p.o));
        if (idx < 0) throw new Error(`ownerReference cycle among ${pending.map((p) => key(p.o)).join(', ')}`);
        const [{ o: raw }] = pending.splice(idx, 1) as [{ o: KubeObject; i: number }];
        const obj = replaceDeep(raw, uidMap) as KubeObject;
        const oldUid = raw.metadata?.uid;
        const status = obj.status;
        const meta = { ...(obj.metadata ?? {}) };
        for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'selfLink']) delete meta[k];
        const body: KubeObject = { ...obj, metadata: meta };
        delete body.status;

        if (CLUSTER_KINDS.has(obj.kind ?? '') && obj.kind !== 'PersistentVolume') {
            // Shared between scenarios (namespaces, cluster instancetypes, storage classes): create or update.
            const [stored] = await lab.apply([body]);
            if (stored === undefined) throw new Error(`apply ${key(obj)} returned nothing`);
            if (oldUid !== undefined && stored.metadata?.uid !== undefined) uidMap.set(oldUid, stored.metadata.uid);
            created.push({ obj: stored, status });
            continue;
        }
        if (obj.kind === 'PersistentVolumeClaim') {
            await ensureStorageClass(lab, obj, created);
        }
        let volumeName: string | undefined;
        if (obj.kind === 'PersistentVolumeClaim') {
            const spec = body.spec as { volumeName?: string };
            volumeName = spec.volumeName;
            if (volumeName !== undefined && (await lab.getJson('persistentvolumes', '', volumeName)) !== undefined) {
                // The name is taken (the same sample in another namespace): bind to pvc-<uid> instead.
                body.spec = { ...spec };
                delete (body.spec as { volumeName?: string }).volumeName;
                volumeName = '';
            }
        }
        let stored = await lab.create(body);
        const uid = stored.metadata?.uid;
        if (oldUid !== undefined && uid !== undefined) uidMap.set(oldUid, uid);
        if (volumeName !== undefined) {
            if (volumeName === '') {
                volumeName = `pvc-${uid ?? ''}`;
                stored = JSON.parse(
                    await lab.kubectl([
                        'patch',
                        'pvc',
                        stored.metadata?.name ?? '',
                        '-n',
                        stored.metadata?.namespace ?? '',
                        '--type=merge',
                        '-p',
                        JSON.stringify({ spec: { volumeName } }),
                        '-o',
                        'json',
                    ]),
                ) as KubeObject;
            }
            const pv = await lab.create(persistentVolumeFor(stored, volumeName, status));
            created.push({ obj: pv, status: { phase: 'Bound' } });
        }
        created.push({ obj: stored, status });
    }

    if (opts.noStatus === true) return created.map((c) => c.obj);
    const out: KubeObject[] = [];
    const kwokPods: number[] = [];
    for (const c of created) {
        if (c.status === undefined || c.obj.kind === 'Namespace') {
            out.push(c.obj);
            continue;
        }
        if (runByKwok(lab, c.obj, c.status)) {
            // kwok runs it on its node (pod-create, pod-ready stages): its status is kwok's, not the sample's.
            kwokPods.push(out.length);
            out.push(c.obj);
            continue;
        }
        const status = replaceDeep(c.status, uidMap);
        out.push(await lab.applyStatus({ apiVersion: c.obj.apiVersion, kind: c.obj.kind, metadata: c.obj.metadata, status }));
    }
    for (const i of kwokPods) {
        const pod = out[i] as KubeObject;
        const ns = pod.metadata?.namespace ?? '';
        const name = pod.metadata?.name ?? '';
        out[i] = await lab.waitFor(
            async () => {
                const p = await lab.getJson('pods', ns, name);
                return (p?.status as { phase?: string } | undefined)?.phase === 'Running' ? p : undefined;
            },
            60_000,
            `pod ${ns}/${name} Running (kwok)`,
            100,
        );
    }
    return out;
}

/** A pod the sample shows Running on the node kwok manages: kwok, not the sample, makes it Running. */
function runByKwok(lab: Lab, obj: KubeObject, status: unknown): boolean {
    const kwok = lab.state.kwok;
    if (kwok === undefined || obj.kind !== 'Pod') return false;
    return (obj.spec as { nodeName?: string } | undefined)?.nodeName === kwok.node && (status as { phase?: string } | undefined)?.phase === 'Running';
}

/** The PersistentVolume a CSI provisioner would have created and bound for the claim. */
function persistentVolumeFor(pvc: KubeObject, name: string, pvcStatus: unknown): KubeObject {
    const spec = pvc.spec as {
        accessModes?: string[];
        volumeMode?: string;
        storageClassName?: string;
        resources?: { requests?: { storage?: string } };
    };
    const ann = pvc.metadata?.annotations ?? {};
    const driver = ann['volume.kubernetes.io/storage-provisioner'] ?? ann['volume.beta.kubernetes.io/storage-provisioner'] ?? FAKE_CSI_DRIVER;
    const capacity = (pvcStatus as { capacity?: { storage?: string } } | undefined)?.capacity?.storage ?? spec.resources?.requests?.storage ?? '1Gi';
    const pvSpec: Record<string, unknown> = {
        accessModes: spec.accessModes ?? ['ReadWriteOnce'],
        capacity: { storage: capacity },
        claimRef: {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            namespace: pvc.metadata?.namespace,
            name: pvc.metadata?.name,
            uid: pvc.metadata?.uid,
            resourceVersion: pvc.metadata?.['resourceVersion'],
        },
        csi: { driver, volumeHandle: `kvp-lab-${name}`, fsType: spec.volumeMode === 'Block' ? undefined : 'ext4' },
        persistentVolumeReclaimPolicy: 'Delete',
        volumeMode: spec.volumeMode ?? 'Filesystem',
    };
    if (spec.storageClassName !== undefined) pvSpec['storageClassName'] = spec.storageClassName;
    return {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': driver }, finalizers: ['kubernetes.io/pv-protection'] },
        spec: JSON.parse(JSON.stringify(pvSpec)) as unknown,
    };
}

async function ensureStorageClass(lab: Lab, pvc: KubeObject, created: { obj: KubeObject }[]): Promise<void> {
    const sc = (pvc.spec as { storageClassName?: string } | undefined)?.storageClassName;
    if (sc === undefined || sc === '' || (await lab.getJson('storageclasses', '', sc)) !== undefined) return;
    const ann = pvc.metadata?.annotations ?? {};
    const provisioner = ann['volume.kubernetes.io/storage-provisioner'] ?? FAKE_CSI_DRIVER;
    const [stored] = await lab.apply([
        {
            apiVersion: 'storage.k8s.io/v1',
            kind: 'StorageClass',
            metadata: { name: sc },
            provisioner,
            reclaimPolicy: 'Delete',
            volumeBindingMode: 'Immediate',
            allowVolumeExpansion: true,
        },
    ]);
    if (stored !== undefined) created.push({ obj: stored });
}

/** Existing cluster: only what a user would create; the real controllers make the rest. */
async function createReal(lab: Lab, objs: KubeObject[]): Promise<KubeObject[]> {
    const userMade = objs.filter((o) => {
        const owners = o.metadata?.ownerReferences ?? [];
        if (o.kind === 'Pod' || o.kind === 'ControllerRevision' || o.kind === 'PersistentVolume') return false;
        return owners.length === 0;
    });
    const bodies = userMade
        .sort((a, b) => order(a) - order(b))
        .map((o) => {
            const meta = { ...(o.metadata ?? {}) };
            for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'ownerReferences']) delete meta[k];
            const spec = o.kind === 'PersistentVolumeClaim' ? { ...(o.spec as Record<string, unknown>) } : o.spec;
            if (o.kind === 'PersistentVolumeClaim') delete (spec as Record<string, unknown>)['volumeName'];
            const body: KubeObject = { ...o, metadata: meta, spec };
            delete body.status;
            return body;
        });
    const out: KubeObject[] = [];
    for (const b of bodies) out.push(...(await lab.apply([b])));
    return out;
}

/** The object of a kind and name in a list (throws when missing: tests read better). */
export function find(objs: readonly KubeObject[], kind: string, name: string): KubeObject {
    const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
    if (o === undefined) throw new Error(`no ${kind} ${name} among ${objs.map(key).join(', ')}`);
    return o;
}
