/**
 * The restore lab scenario (test/lab/restore.test.ts): one namespace holding several partner-suite VMs
 * of manifests/samples, renamed so that they fit side by side, plus test/lab/restore/refs-vm.yaml (a VM
 * whose specs name namespaces), and a golden-image namespace that stays outside the backup.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../../../src/kube/object';
import { parseYamlObjects, type Lab } from '../lab';
import { createVmScenario, loadSample } from '../simulate';

export const NS = {
    /** The namespace backed up. */
    src: 'rst-a',
    /** Where restore (b) maps it. */
    mapped: 'rst-b',
    /** Golden images: referenced, never backed up, never mapped. */
    golden: 'rst-golden',
} as const;

export const VM = {
    dvTemplate: 'test-vm-with-dv-and-dvtemplate',
    pvc: 'test-vm-with-pvc',
    creds: 'test-vm-with-access-credentials',
    instancetype: 'test-vm-with-instancetype-and-preference',
    tpm: 'test-vm-with-tpm',
    refs: 'test-vm-refs',
} as const;

/** The vTPM / EFI state PVC KubeVirt created for the TPM VM, with its generated suffix. */
export const TPM_STATE_PVC = 'persistent-state-for-test-vm-with-tpm-h6jq9';
export const OLD_STORAGE_CLASS = 'rook-ceph-block';
export const NEW_STORAGE_CLASS = 'rst-fast';
export const GOLDEN_NAD = 'golden-net';

/** MACs and serial given to the TPM VM (the sample has none). */
export const TPM_IDENTITY = { macs: ['02:72:73:00:00:11', '02:72:73:00:00:12'], serial: 'rst-tpm-serial-0001' } as const;

/** Sample files, with the renames that keep their names apart in one namespace. */
const SAMPLES: readonly [string, Record<string, string>][] = [
    ['01-vm-with-dv-and-dvtemplate.yaml', {}],
    ['02-vm-with-pvc.yaml', {}],
    ['05-vm-with-access-credentials.yaml', { 'test-dv': 'creds-dv', 'test-access-credentials-secret': 'creds-secret' }],
    ['06-vm-with-instancetype-and-preference.yaml', { 'test-dv': 'it-dv' }],
    ['09-vm-with-tpm-migrating.yaml', { 'test-dv': 'tpm-dv' }],
];

type Json = Record<string, unknown>;

function rec(v: unknown): Json {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`not an object: ${JSON.stringify(v)}`);
    return v as Json;
}

/**
 * Sample 09 moved into the scenario namespace: its multus name "kvp-tpm/test-bridge-net" names the
 * namespace with a prefix, which createVmScenario's move does not rewrite; and the VM gets fixed MAC
 * addresses and a firmware serial for the identity policy.
 */
function tpmSample(): KubeObject[] {
    return loadSample('09-vm-with-tpm-migrating.yaml').map((o) => {
        if (o.kind !== 'VirtualMachine') return o;
        const spec = rec(rec(rec(o.spec)['template'])['spec']);
        for (const n of spec['networks'] as Json[]) {
            const multus = n['multus'] as Json | undefined;
            if (multus !== undefined) multus['networkName'] = `${NS.src}/test-bridge-net`;
        }
        const domain = rec(spec['domain']);
        (rec(domain['devices'])['interfaces'] as Json[]).forEach((iface, i) => (iface['macAddress'] = TPM_IDENTITY.macs[i]));
        rec(domain['firmware'])['serial'] = TPM_IDENTITY.serial;
        return o;
    });
}

/** The PVC CDI made for a DataVolume of refs-vm.yaml: owned by it, Bound, with the DataVolume's storage class. */
function pvcFor(dv: KubeObject): KubeObject {
    const spec = rec(dv.spec);
    const storage = rec(spec['storage'] ?? spec['pvc']);
    const name = dv.metadata?.name ?? '';
    return {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
            name,
            namespace: dv.metadata?.namespace,
            labels: { app: 'containerized-data-importer' },
            annotations: {
                'cdi.kubevirt.io/createdForDataVolume': dv.metadata?.uid,
                'pv.kubernetes.io/bind-completed': 'yes',
                'volume.kubernetes.io/storage-provisioner': 'rook-ceph.rbd.csi.ceph.com',
            },
            finalizers: ['kubernetes.io/pvc-protection'],
            ownerReferences: [{ apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', name, uid: dv.metadata?.uid, controller: true, blockOwnerDeletion: true }],
        },
        spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: '1Gi' } },
            storageClassName: storage['storageClassName'],
            volumeMode: 'Filesystem',
            volumeName: `pvc-rst-${name}`,
        },
        status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' } },
    } as unknown as KubeObject;
}

export function refsScenario(): KubeObject[] {
    const objs = parseYamlObjects(readFileSync(join(__dirname, 'refs-vm.yaml'), 'utf8'));
    return [...objs, ...objs.filter((o) => o.kind === 'DataVolume').map(pvcFor)];
}

/**
 * Creates the golden-image namespace (a NAD only) and the scenario namespace. Resolves to the objects
 * created in the scenario namespace.
 */
export async function createRestoreScenario(lab: Lab): Promise<KubeObject[]> {
    await lab.apply([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS.golden } },
        {
            apiVersion: 'k8s.cni.cncf.io/v1',
            kind: 'NetworkAttachmentDefinition',
            metadata: { name: GOLDEN_NAD, namespace: NS.golden },
            spec: { config: '{"cniVersion": "0.3.1", "name": "golden-net", "type": "bridge", "bridge": "br9", "ipam": {}}' },
        },
    ]);
    const out: KubeObject[] = [];
    for (const [file, renames] of SAMPLES) {
        const source = file.startsWith('09-') ? tpmSample() : file;
        out.push(...(await createVmScenario(lab, NS.src, source, { renames })));
    }
    out.push(...(await createVmScenario(lab, NS.src, refsScenario())));
    return out.filter((o) => o.metadata?.namespace === NS.src);
}

/** Namespaced resources a restore may bring back, as kubectl names them. */
export const INVENTORY_RESOURCES = [
    'virtualmachines.kubevirt.io',
    'virtualmachineinstances.kubevirt.io',
    'pods',
    'datavolumes.cdi.kubevirt.io',
    'persistentvolumeclaims',
    'secrets',
    'configmaps',
    'serviceaccounts',
    'network-attachment-definitions.k8s.cni.cncf.io',
    'controllerrevisions.apps',
    'virtualmachineinstancetypes.instancetype.kubevirt.io',
    'virtualmachinepreferences.instancetype.kubevirt.io',
] as const;
export type InventoryResource = (typeof INVENTORY_RESOURCES)[number];
export type Inventory = Record<InventoryResource, string[]>;

/** The sorted names of each inventory resource in a namespace. */
export async function inventory(lab: Lab, ns: string): Promise<Inventory> {
    const out = {} as Inventory;
    for (const r of INVENTORY_RESOURCES) {
        out[r] = (await lab.list(r, ns)).map((o) => o.metadata?.name ?? '').sort();
    }
    return out;
}

/** An inventory with only the given resources non-empty (names sorted). */
export function expectedInventory(content: Partial<Record<InventoryResource, string[]>>): Inventory {
    const out = {} as Inventory;
    for (const r of INVENTORY_RESOURCES) out[r] = [...(content[r] ?? [])].sort();
    return out;
}
