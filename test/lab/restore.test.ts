/**
 * Restores through the real velero CLI (issue 6, "Must show", third bullet). One namespace (rst-a) holds
 * partner-suite VMs: a stopped VM with a standalone DataVolume and a dataVolumeTemplate, running VMs with a
 * DataVolume-owned PVC, with access credentials, with a namespaced instancetype and preference, a migrating
 * VM with persistent TPM/EFI state (a generated-name PVC labelled persistent-state-for), a Multus NAD and
 * cloud-init secrets, and a stopped VM whose specs name namespaces (test/lab/restore/refs-vm.yaml: its own
 * and a golden-image namespace, in multus networks, DataVolume source.pvc / sourceRef and dataVolumeTemplates;
 * a standalone PVC; fixed MACs and serial). One namespace backup, then:
 *   (a) the namespace deleted and restored in place;
 *   (b) restored next to the original into rst-b (--namespace-mappings rst-a:rst-b), with the Restore labels
 *       clear-mac-address and generate-new-serial, and Velero's change-storage-class ConfigMap;
 *   (c) the namespace emptied and one VM restored by `--selector velero.kubevirt.io/vm=<name>`.
 * Everything is asserted on the objects in the API server, plus the Restore's phase and results.
 * Namespaces, backups and restores start with "rst-".
 *
 * KVP_RST_RESTORE_PLUGIN=<binary> runs the restores (not the backup) with that plugin build instead, to show
 * that these tests fail against a plugin whose restore actions do nothing (see the report of the suite).
 */
import type { KubeObject } from '../../src/kube/object';
import { connectLab, DEFAULT_PLUGIN_BINARY, pluginLogLines, type Lab } from './lab';
import { at, backupItem, backupItems, identityOf, mustGet, pluginErrors, unexpectedWarnings, messages } from './restore/checks';
import {
    createRestoreScenario,
    expectedInventory,
    inventory,
    NEW_STORAGE_CLASS,
    NS,
    OLD_STORAGE_CLASS,
    TPM_IDENTITY,
    TPM_STATE_PVC,
    VM,
    GOLDEN_NAD,
    type Inventory,
} from './restore/scenario';

const BACKUP = 'rst-ns';
const R = {
    vm: 'virtualmachines.kubevirt.io',
    vmi: 'virtualmachineinstances.kubevirt.io',
    dv: 'datavolumes.cdi.kubevirt.io',
    pvc: 'persistentvolumeclaims',
    pod: 'pods',
} as const;
const VM_LABEL = 'velero.kubevirt.io/vm';
const RESTORE_GRAPH = 'velero.kubevirt.io/restore-graph';
const PRE_POPULATED = 'cdi.kubevirt.io/storage.prePopulated';
const POPULATED_FOR = 'cdi.kubevirt.io/storage.populatedFor';
const PVC_UID = 'velero.kubevirt.io/pvc-uid';
const CHANGE_SC_CONFIGMAP = 'rst-change-storage-class';

/** Every DataVolume of the scenario, with the stanza that names its storage class. */
const DATA_VOLUMES: readonly [string, 'storage' | 'pvc'][] = [
    ['test-dv', 'storage'],
    ['test-dv-template', 'storage'],
    ['test-pvc', 'storage'],
    ['creds-dv', 'storage'],
    ['it-dv', 'storage'],
    ['tpm-dv', 'storage'],
    ['refs-clone-local', 'storage'],
    ['refs-clone-golden', 'storage'],
    ['refs-ref-local', 'pvc'],
    ['refs-ref-golden', 'storage'],
    ['refs-tpl-clone', 'storage'],
    ['refs-tpl-golden', 'storage'],
];
/** Every PVC, with the DataVolume it was populated for (undefined: not a DataVolume's). */
const PVCS: readonly [string, string | undefined][] = [...DATA_VOLUMES.map(([name]): [string, string] => [name, name]), ['refs-standalone', undefined], [TPM_STATE_PVC, undefined]];
const ALL_VMS = Object.values(VM);
/** VMs whose template carries MAC addresses and a serial in the backup. */
const VMS_WITH_IDENTITY = [VM.tpm, VM.refs];
/** The VMs that run (VMI and launcher pods in the backup). */
const RUNNING_VMS = [VM.pvc, VM.creds, VM.instancetype, VM.tpm];

let lab: Lab;
let files: Map<string, unknown>;
let before: Inventory;

function labelsOf(o: KubeObject | undefined): Record<string, string> {
    return o?.metadata?.labels ?? {};
}
function annotationsOf(o: KubeObject | undefined): Record<string, string> {
    return o?.metadata?.annotations ?? {};
}

/** Phase, errors and warnings of a restore, and error lines of our plugin in its log. */
async function outcome(name: string): Promise<{ phase: string | undefined; errors: string[]; unexpectedWarnings: string[]; pluginRan: boolean; pluginErrors: string[] }> {
    const results = await lab.restoreResults(name);
    const log = await lab.restoreLog(name);
    return {
        phase: await lab.phase('restore', name),
        errors: messages(results.errors),
        unexpectedWarnings: unexpectedWarnings(results.warnings),
        pluginRan: pluginLogLines(log).length > 0,
        pluginErrors: pluginErrors(log),
    };
}
const CLEAN_OUTCOME = { phase: 'Completed', errors: [], unexpectedWarnings: [], pluginRan: true, pluginErrors: [] };
const RESTORE_PLUGIN = process.env['KVP_RST_RESTORE_PLUGIN'];

beforeAll(async () => {
    lab = connectLab();
    await createRestoreScenario(lab);
    before = await inventory(lab, NS.src);
    await lab.velero(['backup', 'create', BACKUP, '--include-namespaces', NS.src, '--snapshot-volumes=false', '--wait']);
    files = await lab.readBackup(BACKUP);
    if (RESTORE_PLUGIN !== undefined && RESTORE_PLUGIN !== '') await lab.restartVelero({ pluginBinary: RESTORE_PLUGIN });
});

afterAll(async () => {
    // Other test files share the lab: no change-storage-class ConfigMap and no VMs of ours may stay behind.
    await lab.kubectlRaw(['delete', 'configmap', CHANGE_SC_CONFIGMAP, '-n', lab.veleroNamespace, '--ignore-not-found']);
    for (const ns of [NS.src, NS.mapped, NS.golden]) await lab.deleteNamespace(ns);
    if (RESTORE_PLUGIN !== undefined && RESTORE_PLUGIN !== '') await lab.restartVelero({ pluginBinary: DEFAULT_PLUGIN_BINARY });
});

describe('the namespace backup (what the restores must leave out or undo)', () => {
    it('fails only for want of a kubelet: every error line is an exec hook attempt, none from our plugin', async () => {
        const log = await lab.backupLog(BACKUP);
        const errors = log.split('\n').filter((l) => l.includes('level=error'));
        expect(errors.length).toBeGreaterThan(0);
        expect(errors.filter((l) => !l.includes('msg="Error executing hook"'))).toEqual([]);
        expect(pluginErrors(log)).toEqual([]);
        expect(await lab.phase('backup', BACKUP)).toBe('PartiallyFailed');
    });

    it('holds the VMIs and launcher pods of the running VMs', () => {
        const vmis = backupItems(files, R.vmi, NS.src)
            .map((o) => o.metadata?.name)
            .sort();
        const podOwners = backupItems(files, R.pod, NS.src).map((o) => labelsOf(o)['vm.kubevirt.io/name']);
        expect(vmis).toEqual([...RUNNING_VMS].sort());
        expect([...new Set(podOwners)].sort()).toEqual([...RUNNING_VMS].sort());
    });

    it.each(ALL_VMS)('VM %s is labelled for single-VM restore and carries its recorded restore graph', (name) => {
        const vm = backupItem(files, R.vm, NS.src, name);
        expect(labelsOf(vm)[VM_LABEL]).toBe(name);
        expect(JSON.parse(annotationsOf(vm)[RESTORE_GRAPH] ?? 'null')).toEqual(expect.any(Array));
    });

    it('the TPM VM recorded its state PVC by its generated name', () => {
        const vm = backupItem(files, R.vm, NS.src, VM.tpm);
        expect(JSON.parse(annotationsOf(vm)[RESTORE_GRAPH] ?? '[]')).toContain(`persistentvolumeclaims/${TPM_STATE_PVC}`);
    });

    it.each(VMS_WITH_IDENTITY)('VM %s has MAC addresses and a firmware serial', (name) => {
        const id = identityOf(backupItem(files, R.vm, NS.src, name));
        expect(id.macs.length).toBeGreaterThan(0);
        expect(id.macs.every((m) => typeof m === 'string' && m !== '')).toBe(true);
        expect(id.serial).toEqual(expect.any(String));
    });
});

interface Mode {
    title: string;
    restore: string;
    target: string;
    storageClass: string;
    identityChanged: boolean;
    args: string[];
    prepare: () => Promise<void>;
    cleanup: () => Promise<void>;
}

const MODES: Mode[] = [
    {
        title: '(a) the namespace deleted and restored in place',
        restore: 'rst-same',
        target: NS.src,
        storageClass: OLD_STORAGE_CLASS,
        identityChanged: false,
        args: [],
        prepare: async () => {
            await lab.deleteNamespace(NS.src);
            expect(await inventory(lab, NS.src)).toEqual(expectedInventory({}));
        },
        cleanup: async () => undefined,
    },
    {
        title: '(b) restored next to the original into a mapped namespace, new identity, storage classes changed',
        restore: 'rst-mapped',
        target: NS.mapped,
        storageClass: NEW_STORAGE_CLASS,
        identityChanged: true,
        args: ['--namespace-mappings', `${NS.src}:${NS.mapped}`, '--labels', 'velero.kubevirt.io/clear-mac-address=true,velero.kubevirt.io/generate-new-serial=true'],
        prepare: async () => {
            await lab.apply([
                {
                    apiVersion: 'storage.k8s.io/v1',
                    kind: 'StorageClass',
                    metadata: { name: NEW_STORAGE_CLASS },
                    provisioner: 'rook-ceph.rbd.csi.ceph.com',
                    reclaimPolicy: 'Delete',
                    volumeBindingMode: 'Immediate',
                },
                {
                    apiVersion: 'v1',
                    kind: 'ConfigMap',
                    metadata: {
                        name: CHANGE_SC_CONFIGMAP,
                        namespace: lab.veleroNamespace,
                        labels: { 'velero.io/plugin-config': '', 'velero.io/change-storage-class': 'RestoreItemAction' },
                    },
                    data: { [OLD_STORAGE_CLASS]: NEW_STORAGE_CLASS },
                },
            ]);
        },
        cleanup: async () => {
            await lab.kubectl(['delete', 'configmap', CHANGE_SC_CONFIGMAP, '-n', lab.veleroNamespace, '--ignore-not-found']);
        },
    },
];

describe.each(MODES)('$title', (mode) => {
    const T = mode.target;
    beforeAll(async () => {
        await mode.prepare();
        try {
            await lab.velero(['restore', 'create', mode.restore, '--from-backup', BACKUP, ...mode.args, '--wait']);
        } finally {
            await mode.cleanup();
        }
    });

    it("completes with no error, no warning beyond the lab README's, and no error from our plugin", async () => {
        expect(await outcome(mode.restore)).toEqual(CLEAN_OUTCOME);
    });

    it('brings back everything of the namespace except VMIs and launcher pods', async () => {
        expect(await inventory(lab, T)).toEqual({
            ...before,
            [R.vmi]: [],
            [R.pod]: [],
        });
    });

    it.each(ALL_VMS)('VM %s: no single-VM label, no recorded restore graph', async (name) => {
        const vm = await mustGet(lab, R.vm, T, name);
        expect([labelsOf(vm)[VM_LABEL], annotationsOf(vm)[RESTORE_GRAPH]]).toEqual([undefined, undefined]);
    });

    it.each(DATA_VOLUMES)('DataVolume %s is prePopulated, its spec.%s storage class is the expected one', async (name, stanza) => {
        const dv = await mustGet(lab, R.dv, T, name);
        expect([annotationsOf(dv)[PRE_POPULATED], at(dv, ['spec', stanza, 'storageClassName'])]).toEqual([name, mode.storageClass]);
    });

    it.each(PVCS)('PVC %s: populatedFor %s, no pvc-uid label, storage class mapped by Velero', async (name, dv) => {
        const pvc = await mustGet(lab, R.pvc, T, name);
        expect([annotationsOf(pvc)[POPULATED_FOR], labelsOf(pvc)[PVC_UID], at(pvc, ['spec', 'storageClassName'])]).toEqual([dv, undefined, mode.storageClass]);
    });

    it.each([VM.dvTemplate, VM.creds, VM.instancetype, VM.tpm, VM.refs])('VM %s: every dataVolumeTemplate names the expected storage class', async (name) => {
        const vm = await mustGet(lab, R.vm, T, name);
        const classes = ((at(vm, ['spec', 'dataVolumeTemplates']) as unknown[] | undefined) ?? []).map((t) => at(t, ['spec', 'storage', 'storageClassName']));
        expect(classes.length).toBeGreaterThan(0);
        expect(classes).toEqual(classes.map(() => mode.storageClass));
    });

    // [what, resource, name, path, expected]: references to the backed-up namespace follow the restore,
    // references to the golden-image namespace stay.
    const NETWORKS = ['spec', 'template', 'spec', 'networks'];
    it.each([
        ['multus network of the own namespace', R.vm, VM.refs, [...NETWORKS, 1, 'multus', 'networkName'], `${T}/refs-net`],
        ['multus network of the golden namespace', R.vm, VM.refs, [...NETWORKS, 2, 'multus', 'networkName'], `${NS.golden}/${GOLDEN_NAD}`],
        ['multus network of the TPM VM', R.vm, VM.tpm, [...NETWORKS, 1, 'multus', 'networkName'], `${T}/test-bridge-net`],
        ['DataVolume source.pvc of the own namespace', R.dv, 'refs-clone-local', ['spec', 'source', 'pvc', 'namespace'], T],
        ['DataVolume source.pvc of the golden namespace', R.dv, 'refs-clone-golden', ['spec', 'source', 'pvc', 'namespace'], NS.golden],
        ['DataVolume sourceRef of the own namespace', R.dv, 'refs-ref-local', ['spec', 'sourceRef', 'namespace'], T],
        ['DataVolume sourceRef of the golden namespace', R.dv, 'refs-ref-golden', ['spec', 'sourceRef', 'namespace'], NS.golden],
        ['template DataVolume source.pvc of the own namespace', R.dv, 'refs-tpl-clone', ['spec', 'source', 'pvc', 'namespace'], T],
        ['dataVolumeTemplates[0] source.pvc of the own namespace', R.vm, VM.refs, ['spec', 'dataVolumeTemplates', 0, 'spec', 'source', 'pvc', 'namespace'], T],
        ['dataVolumeTemplates[1] sourceRef of the golden namespace', R.vm, VM.refs, ['spec', 'dataVolumeTemplates', 1, 'spec', 'sourceRef', 'namespace'], NS.golden],
    ] as const)('%s: %s %s %j is %s', async (_what, resource, name, path, expected) => {
        expect(at(await mustGet(lab, resource, T, name), path)).toBe(expected);
    });

    it.each(ALL_VMS)(`VM %s: MAC addresses and serial ${mode.identityChanged ? 'cleared and renewed' : 'as backed up'}, firmware UUID as backed up`, async (name) => {
        const backedUp = identityOf(backupItem(files, R.vm, NS.src, name));
        const restored = identityOf(await mustGet(lab, R.vm, T, name));
        expect(restored.uuid).toEqual(backedUp.uuid);
        if (!mode.identityChanged) {
            expect(restored).toEqual(backedUp);
            return;
        }
        expect(restored.macs).toEqual(backedUp.macs.map(() => undefined));
        expect(restored.serial).toEqual(expect.any(String));
        expect(restored.serial).not.toEqual('');
        expect(restored.serial).not.toEqual(backedUp.serial);
    });

    it(`firmware serials are ${mode.identityChanged ? 'new and distinct per VM' : 'the backed-up ones'}`, async () => {
        const serials = await Promise.all(ALL_VMS.map(async (name) => identityOf(await mustGet(lab, R.vm, T, name)).serial));
        const backedUp = ALL_VMS.map((name) => identityOf(backupItem(files, R.vm, NS.src, name)).serial);
        if (mode.identityChanged) {
            expect(new Set(serials).size).toBe(ALL_VMS.length);
            expect(serials.filter((s) => backedUp.includes(s))).toEqual([]);
        } else {
            expect(serials).toEqual(backedUp);
        }
    });

    it('the TPM VM kept its identity values in the backup (the change happened at restore)', () => {
        expect(identityOf(backupItem(files, R.vm, NS.src, VM.tpm))).toMatchObject({ macs: [...TPM_IDENTITY.macs], serial: TPM_IDENTITY.serial });
    });
});

/** (c): what one VM's restore graph brings, and nothing else. */
const SINGLE_VM: readonly [string, Partial<Inventory>][] = [
    [
        VM.tpm,
        {
            'virtualmachines.kubevirt.io': [VM.tpm],
            'datavolumes.cdi.kubevirt.io': ['tpm-dv'],
            persistentvolumeclaims: ['tpm-dv', TPM_STATE_PVC],
            secrets: ['test-access-credentials-secret', 'test-ssh-key', 'test-userdata'],
            'network-attachment-definitions.k8s.cni.cncf.io': ['test-bridge-net'],
        },
    ],
    [
        VM.instancetype,
        {
            'virtualmachines.kubevirt.io': [VM.instancetype],
            'datavolumes.cdi.kubevirt.io': ['it-dv'],
            persistentvolumeclaims: ['it-dv'],
            'controllerrevisions.apps': [
                'test-vm-with-instancetype-and-preference-test-vm-instancetype-ddfdf957-1',
                'test-vm-with-instancetype-and-preference-test-vm-preference-a2427364-1',
            ],
            'virtualmachineinstancetypes.instancetype.kubevirt.io': ['test-vm-instancetype'],
            'virtualmachinepreferences.instancetype.kubevirt.io': ['test-vm-preference'],
        },
    ],
    [
        VM.refs,
        {
            'virtualmachines.kubevirt.io': [VM.refs],
            'datavolumes.cdi.kubevirt.io': ['refs-clone-golden', 'refs-clone-local', 'refs-ref-golden', 'refs-ref-local', 'refs-tpl-clone', 'refs-tpl-golden'],
            persistentvolumeclaims: ['refs-clone-golden', 'refs-clone-local', 'refs-ref-golden', 'refs-ref-local', 'refs-standalone', 'refs-tpl-clone', 'refs-tpl-golden'],
            'network-attachment-definitions.k8s.cni.cncf.io': ['refs-net'],
        },
    ],
];

describe('(c) one VM restored by name into the emptied namespace', () => {
    it.each(SINGLE_VM)("--selector velero.kubevirt.io/vm=%s restores exactly that VM's graph", async (name, content) => {
        const restore = `rst-one-${name.replace(/^test-vm-/, '')}`;
        await lab.deleteNamespace(NS.src);
        await lab.velero(['restore', 'create', restore, '--from-backup', BACKUP, '--selector', `${VM_LABEL}=${name}`, '--wait']);
        expect(await outcome(restore)).toEqual(CLEAN_OUTCOME);
        expect(await inventory(lab, NS.src)).toEqual(expectedInventory(content));
        const vm = await mustGet(lab, R.vm, NS.src, name);
        expect([labelsOf(vm)[VM_LABEL], annotationsOf(vm)[RESTORE_GRAPH]]).toEqual([undefined, undefined]);
        for (const dv of content['datavolumes.cdi.kubevirt.io'] ?? []) {
            expect([dv, annotationsOf(await mustGet(lab, R.dv, NS.src, dv))[PRE_POPULATED]]).toEqual([dv, dv]);
        }
    });
});
