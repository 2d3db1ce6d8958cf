/**
 * The adapter (src/plugin/adapter.ts) runs every core under the contract of src/plugin/contract.ts:
 * it decides once whether the item changed, checks kinds and the Backup, parses the options once per
 * call and writes the one start-of-call line. Cores here are the real ones or small synthetic ones.
 */
import { dataVolumeBackupAction } from '../../../src/backup-item-actions/datavolume';
import { pvcBackupAction } from '../../../src/backup-item-actions/pvc';
import { vmTemplateBackupAction } from '../../../src/backup-item-actions/template';
import { vmBackupAction } from '../../../src/backup-item-actions/vm';
import { vmiBackupAction } from '../../../src/backup-item-actions/vmi';
import { volumeSnapshotBackupAction } from '../../../src/backup-item-actions/volumesnapshot';
import { StaticCluster } from '../../support/static-cluster';
import { PluginError } from '../../../src/errors';
import { podItemBlockAction, vmItemBlockAction } from '../../../src/item-block-actions/itemblock';
import { KNOB } from '../../../src/kube/knobs';
import * as jsonModule from '../../../src/kube/json';
import { deepClone, stringifyLossless } from '../../../src/kube/json';
import { setLabel, type KubeObject } from '../../../src/kube/object';
import type { Backup, Restore } from '../../../src/kube/velero';
import { Logger } from '../../../src/logging/logger';
import { backupDeclaration, itemBlockDeclaration, restoreDeclaration, runBackupAction, runRestoreAction } from '../../../src/plugin/adapter';
import type { BackupAction, RestoreAction } from '../../../src/plugin/contract';
import * as options from '../../../src/plugin/options';
import { dataVolumeRestoreAction } from '../../../src/restore-item-actions/datavolume';
import { nadRestoreAction } from '../../../src/restore-item-actions/nad';
import { pvcRestoreAction } from '../../../src/restore-item-actions/pvc';
import { vmRestoreAction } from '../../../src/restore-item-actions/vm';
import { vmiRestoreAction } from '../../../src/restore-item-actions/vmi';
import { RecordingCluster } from '../restore-item-actions/helpers';

const quiet = new Logger('error', () => undefined);
const noCluster = (): never => {
    throw new Error('no cluster in this test');
};
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const BACKUP = json({ apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'b1', namespace: 'velero' }, spec: {} });
const RESTORE = json({ apiVersion: 'velero.io/v1', kind: 'Restore', metadata: { name: 'r1', namespace: 'velero' }, spec: {} });

function debugLog(): { log: Logger; lines: string[] } {
    const lines: string[] = [];
    const log = new Logger('debug', (line) => lines.push(String((JSON.parse(line) as Record<string, unknown>)['@message'])));
    return { log, lines };
}

async function failure(call: Promise<unknown>): Promise<string> {
    const error = await call.then(
        () => undefined,
        (e: unknown) => e,
    );
    if (!(error instanceof PluginError)) throw new Error(`expected a PluginError, got ${String(error)}`);
    return `${error.reason}: ${error.detail}`;
}

describe('the adapter decides once whether the item changed', () => {
    const label = (obj: KubeObject): KubeObject => {
        const out = deepClone(obj);
        setLabel(out, 'example.com/touched', 'yes');
        return out;
    };
    // Velero's Go encoder escapes <, > and & and the request may use any spacing: an unchanged item still goes back byte for byte.
    const GO_BYTES = Buffer.from(
        '{"apiVersion":"v1", "kind":"ConfigMap","metadata":{"name":"a","namespace":"ns","labels":{"app":"web"},"annotations":{"x":"\\u003cb\\u003e \\u0026"}},"data":{"n":1.0}}',
    );
    const cases: { name: string; core: (item: KubeObject) => KubeObject; same: boolean }[] = [
        { name: 'the input object itself → the request bytes', core: (item) => item, same: true },
        { name: 'an unchanged copy → the request bytes, even when Go wrote them', core: (item) => deepClone(item), same: true },
        {
            name: 'a copy with the same label set again → the request bytes',
            core: (item) => {
                const out = deepClone(item);
                setLabel(out, 'app', 'web');
                return out;
            },
            same: true,
        },
        { name: 'a changed copy → the new bytes', core: label, same: false },
    ];
    const backupOf = (core: (item: KubeObject) => KubeObject): BackupAction => ({
        name: 'test.io/backup',
        appliesTo: { includedResources: ['configmaps'] },
        requiresBackup: false,
        execute: async ({ item }) => ({ item: core(item), additionalItems: [] }),
    });
    const restoreOf = (core: (item: KubeObject) => KubeObject): RestoreAction => ({
        name: 'test.io/restore',
        appliesTo: { includedResources: ['configmaps'] },
        execute: async ({ item }) => ({ item: core(item), additionalItems: [], skipRestore: false }),
    });

    it.each(cases)('backup: $name', async ({ core, same }) => {
        const out = await backupDeclaration(backupOf(core), noCluster).execute({ item: GO_BYTES, backup: BACKUP }, { log: quiet });
        if (same) expect(out.item).toBe(GO_BYTES);
        else expect(JSON.parse(out.item.toString('utf8'))).toMatchObject({ metadata: { labels: { app: 'web', 'example.com/touched': 'yes' }, annotations: { x: '<b> &' } } });
    });

    it.each(cases)('restore: $name', async ({ core, same }) => {
        const out = await restoreDeclaration(restoreOf(core), noCluster, {}).execute({ item: GO_BYTES, restore: RESTORE, itemFromBackup: GO_BYTES }, { log: quiet });
        if (same) expect(out.item).toBe(GO_BYTES);
        else expect(out.item.toString('utf8')).toContain('"labels":{"app":"web","example.com/touched":"yes"}');
    });

    it('a changed item is sent as the lossless serialisation of what the core returned (1.0 stays 1.0)', async () => {
        let returned: KubeObject | undefined;
        const out = await backupDeclaration(
            backupOf((item) => (returned = label(item))),
            noCluster,
        ).execute({ item: GO_BYTES, backup: BACKUP }, { log: quiet });
        expect(out.item.toString('utf8')).toBe(stringifyLossless(returned));
        expect(out.item.toString('utf8')).toContain('"n":1.0');
    });

    it('a real core that re-sets what the item already has sends the request bytes (VM backed up twice)', async () => {
        const vm = {
            apiVersion: 'kubevirt.io/v1',
            kind: 'VirtualMachine',
            metadata: { name: 'vm', namespace: 'ns' },
            spec: { template: { spec: { domain: {} } } },
        };
        const first = await backupDeclaration(vmBackupAction, () => new StaticCluster([])).execute({ item: json(vm), backup: BACKUP }, { log: quiet });
        const second = await backupDeclaration(vmBackupAction, () => new StaticCluster([])).execute({ item: first.item, backup: BACKUP }, { log: quiet });
        expect(first.item.equals(json(vm))).toBe(false);
        expect(second.item).toBe(first.item);
    });
});

describe('the adapter checks the kind against appliesTo, with the texts the cores had', () => {
    const vm = (over: Record<string, unknown> = {}): KubeObject => ({
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name: 'vm', namespace: 'ns' },
        spec: { template: { spec: {} } },
        ...over,
    });
    const rejected: { name: string; action: BackupAction; item: KubeObject; want: string }[] = [
        { name: 'a Pod to the VM action', action: vmBackupAction, item: vm({ kind: 'Pod', apiVersion: 'v1' }), want: 'InvalidItem: expected a VirtualMachine, got kind "Pod"' },
        {
            name: 'a VM of another API group',
            action: vmBackupAction,
            item: vm({ apiVersion: 'example.com/v1' }),
            want: 'InvalidItem: expected apiVersion kubevirt.io/*, got "example.com/v1"',
        },
        { name: 'a VM without metadata', action: vmBackupAction, item: vm({ metadata: undefined }), want: 'InvalidItem: metadata is missing' },
        {
            name: 'a VMI without a name',
            action: vmiBackupAction,
            item: { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { namespace: 'ns' }, spec: {} },
            want: 'InvalidItem: metadata.name is missing',
        },
        {
            name: 'a PVC of a named group',
            action: pvcBackupAction,
            item: { apiVersion: 'x.io/v1', kind: 'PersistentVolumeClaim', metadata: { name: 'p', namespace: 'ns' } },
            want: 'InvalidItem: expected apiVersion /*, got "x.io/v1"',
        },
        { name: 'a VM to the VolumeSnapshot action', action: volumeSnapshotBackupAction, item: vm(), want: 'InvalidItem: expected a VolumeSnapshot, got kind "VirtualMachine"' },
        {
            name: 'a template of another group',
            action: vmTemplateBackupAction,
            item: { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineTemplate', metadata: { name: 't', namespace: 'ns' }, spec: {} },
            want: 'InvalidItem: expected apiVersion template.kubevirt.io/*, got "kubevirt.io/v1"',
        },
    ];
    it.each(rejected)('backup: $name is an InvalidItem error naming the item', async ({ action, item, want }) => {
        const call = backupDeclaration(action, noCluster).execute({ item: json(item), backup: BACKUP }, { log: quiet });
        expect(await failure(call)).toBe(want);
        await expect(call).rejects.toThrow(/^VirtualMachine|^Pod|^PersistentVolumeClaim|^VirtualMachineInstance|^VirtualMachineTemplate/);
    });

    it.each([
        ['a ConfigMap', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } }],
        ['a DataVolume of another group', { apiVersion: 'example.com/v1', kind: 'DataVolume', metadata: { name: 'd', namespace: 'ns' } }],
    ])('backup-datavolume-action passes %s through unchanged without reading the cluster', async (_name, item) => {
        const bytes = json(item);
        const out = await backupDeclaration(dataVolumeBackupAction, noCluster).execute({ item: bytes, backup: BACKUP }, { log: quiet });
        expect(out).toEqual({ item: bytes, additionalItems: [] });
        expect(out.item).toBe(bytes);
    });

    it.each([
        ['block-vm-action, a Pod', vmItemBlockAction, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' } }],
        ['block-launcher-pod-action, a VM', podItemBlockAction, vm()],
    ])('%s: no related items, no cluster read', async (_name, action, item) => {
        expect(await itemBlockDeclaration(action, noCluster).relatedItems({ item: json(item), backup: BACKUP }, { log: quiet })).toEqual([]);
    });

    it('restore actions check no kind, as before: restore-pvc-action runs on whatever Velero sends', async () => {
        const item = json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns', labels: { 'velero.kubevirt.io/pvc-uid': 'u' } } });
        const out = await restoreDeclaration(pvcRestoreAction, noCluster, {}).execute({ item, restore: RESTORE, itemFromBackup: item }, { log: quiet });
        expect(JSON.parse(out.item.toString('utf8'))).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } });
    });
});

describe('a missing Backup is an input error, checked by the adapter for the actions that need one', () => {
    const pvc = json({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'p', namespace: 'ns' } });
    it.each([
        ['backup-virtualmachine-action', vmBackupAction, true],
        ['backup-datavolume-action', dataVolumeBackupAction, true],
        ['backup-volumesnapshot-action', volumeSnapshotBackupAction, true],
        ['backup-pvc-action', pvcBackupAction, false],
    ] as const)('%s: needs a Backup: %s', async (_name, action, needed) => {
        for (const backup of [Buffer.alloc(0), Buffer.from('{}')]) {
            const call = backupDeclaration(action, noCluster).execute({ item: pvc, backup }, { log: quiet });
            if (needed) expect(await failure(call)).toBe('InvalidItem: backup object nil!: the request carried no Backup object');
            else expect((await call).item).toBe(pvc);
        }
    });
});

describe('options are parsed once per call and an invalid one fails only the actions that read it', () => {
    const vm = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'vm', namespace: 'ns' }, spec: { template: { spec: { domain: {} } } } };
    const vmi = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name: 'vmi', namespace: 'ns' }, spec: { domain: {} } };
    const ownedVmi = { ...vmi, metadata: { ...vmi.metadata, annotations: { 'cdi.kubevirt.io/velero.isOwned': 'true' } } };
    const pvc = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'p', namespace: 'ns' } };
    const dv = { apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', metadata: { name: 'd', namespace: 'ns' }, spec: {} };
    const nad = { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'n', namespace: 'ns' }, spec: { config: '{}' } };
    const BAD_RUN = 'Restore label velero.kubevirt.io/restore-run-strategy has invalid value "Sometimes": allowed values are Always, Halted, Manual, RerunOnFailure, Once';
    const BAD_IDENTITY = 'Restore label velero.kubevirt.io/identity-policy has invalid value "random": allowed values are auto, keep';
    const cases: { name: string; labels: Record<string, string>; action: RestoreAction; item: unknown; want: string | undefined }[] = [
        { name: 'bad run strategy: VM fails', labels: { [KNOB.restoreRunStrategy]: 'Sometimes' }, action: vmRestoreAction, item: vm, want: `InvalidConfig: ${BAD_RUN}` },
        { name: 'bad run strategy: VMI restores', labels: { [KNOB.restoreRunStrategy]: 'Sometimes' }, action: vmiRestoreAction, item: vmi, want: undefined },
        { name: 'bad run strategy: PVC restores', labels: { [KNOB.restoreRunStrategy]: 'Sometimes' }, action: pvcRestoreAction, item: pvc, want: undefined },
        { name: 'bad identity policy: VM fails', labels: { [KNOB.identityPolicy]: 'random' }, action: vmRestoreAction, item: vm, want: `InvalidConfig: ${BAD_IDENTITY}` },
        {
            name: 'bad identity policy: standalone VMI fails',
            labels: { [KNOB.identityPolicy]: 'random' },
            action: vmiRestoreAction,
            item: vmi,
            want: `InvalidConfig: ${BAD_IDENTITY}`,
        },
        {
            name: 'bad identity policy: VM-owned VMI is skipped without reading it',
            labels: { [KNOB.identityPolicy]: 'random' },
            action: vmiRestoreAction,
            item: ownedVmi,
            want: undefined,
        },
        { name: 'bad identity policy: DataVolume restores', labels: { [KNOB.identityPolicy]: 'random' }, action: dataVolumeRestoreAction, item: dv, want: undefined },
        { name: 'bad identity policy: NAD restores', labels: { [KNOB.identityPolicy]: 'random' }, action: nadRestoreAction, item: nad, want: undefined },
        {
            name: 'both bad: VM fails on the run strategy first',
            labels: { [KNOB.restoreRunStrategy]: 'Sometimes', [KNOB.identityPolicy]: 'random' },
            action: vmRestoreAction,
            item: vm,
            want: `InvalidConfig: ${BAD_RUN}`,
        },
    ];
    it.each(cases)('$name', async ({ labels, action, item, want }) => {
        const restore = json({ apiVersion: 'velero.io/v1', kind: 'Restore', metadata: { name: 'r1', namespace: 'velero', labels }, spec: {} });
        const call = restoreDeclaration(action, () => new StaticCluster([]), {}).execute({ item: json(item), restore, itemFromBackup: json(item) }, { log: quiet });
        if (want === undefined) await expect(call).resolves.toBeDefined();
        else expect(await failure(call)).toBe(want);
    });

    /** A Restore (or Backup) whose metadata.labels counts its reads. */
    function counted<T extends Backup | Restore>(owner: T, labels: Record<string, string>): { owner: T; reads: () => number } {
        let reads = 0;
        const metadata = { name: 'o1', namespace: 'velero' };
        Object.defineProperty(metadata, 'labels', {
            enumerable: true,
            get: () => {
                reads += 1;
                return labels;
            },
        });
        return { owner: { ...owner, metadata }, reads: () => reads };
    }

    it('a VM restore reads the Restore labels once, for every knob it uses', async () => {
        const { owner, reads } = counted<Restore>(
            { kind: 'Restore', spec: {} },
            { [KNOB.restoreRunStrategy]: 'Halted', [KNOB.generateNewSerial]: 'true', [KNOB.clearMacAddress]: 'true' },
        );
        const parse = jest.spyOn(options, 'parseRestoreOptions');
        try {
            const out = await runRestoreAction(vmRestoreAction, deepClone(vm), owner, () => deepClone(vm), {}, { cluster: new StaticCluster([]), log: quiet });
            expect(out.item.spec).toMatchObject({ runStrategy: 'Halted' });
            expect(reads()).toBe(1);
            expect(parse).toHaveBeenCalledTimes(1);
        } finally {
            parse.mockRestore();
        }
    });

    it('a VM backup reads the Backup labels once', async () => {
        const { owner, reads } = counted<Backup>({ kind: 'Backup', spec: {} }, { [KNOB.metadataBackup]: 'true' });
        await runBackupAction(vmBackupAction, deepClone(vm), owner, { cluster: new StaticCluster([]), log: quiet });
        expect(reads()).toBe(1);
    });

    it.each([
        [{}, 'list configmaps velero'],
        [{ VELERO_NAMESPACE: 'openshift-adp' }, 'list configmaps openshift-adp'],
    ])('the change-storage-class ConfigMap is looked up in the namespace the environment %o names', async (env, call) => {
        const item = json({ ...dv, spec: { pvc: { storageClassName: 'fast' } } });
        const cluster = new RecordingCluster([]);
        await restoreDeclaration(dataVolumeRestoreAction, () => cluster, env).execute({ item, restore: RESTORE, itemFromBackup: item }, { log: quiet });
        expect(cluster.calls).toEqual([call]);
    });
});

describe('the Restore of a restore is decoded once, and a different Restore is decoded anew', () => {
    const dv = (spec: Record<string, unknown>): Buffer => json({ apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', metadata: { name: 'd', namespace: 'a' }, spec });
    const restoreWith = (mapping: Record<string, string>, labels: Record<string, string> = {}): Buffer =>
        json({ apiVersion: 'velero.io/v1', kind: 'Restore', metadata: { name: 'r1', namespace: 'velero', labels }, spec: { namespaceMapping: mapping } });
    const cloneFromA = dv({ source: { pvc: { namespace: 'a', name: 'golden' } } });

    it('calls with the same Restore bytes parse its options once; new bytes are parsed again and take effect', async () => {
        const declaration = restoreDeclaration(dataVolumeRestoreAction, () => new StaticCluster([]), {});
        const parse = jest.spyOn(options, 'parseRestoreOptions');
        try {
            const toB = restoreWith({ a: 'b' });
            const first = await declaration.execute({ item: cloneFromA, restore: toB, itemFromBackup: cloneFromA }, { log: quiet });
            const second = await declaration.execute({ item: cloneFromA, restore: Buffer.from(toB), itemFromBackup: cloneFromA }, { log: quiet });
            expect(parse).toHaveBeenCalledTimes(1);
            for (const out of [first, second]) expect(out.item.toString('utf8')).toContain('"pvc":{"namespace":"b","name":"golden"}');
            const toC = await declaration.execute({ item: cloneFromA, restore: restoreWith({ a: 'c' }), itemFromBackup: cloneFromA }, { log: quiet });
            expect(parse).toHaveBeenCalledTimes(2);
            expect(toC.item.toString('utf8')).toContain('"pvc":{"namespace":"c","name":"golden"}');
            const none = await declaration.execute({ item: cloneFromA, restore: RESTORE, itemFromBackup: cloneFromA }, { log: quiet });
            expect(none.item).toBe(cloneFromA);
        } finally {
            parse.mockRestore();
        }
    });

    it('an invalid option fails every call that reads it with the same error, while other actions of the same Restore go on', async () => {
        const restore = restoreWith({}, { [KNOB.restoreRunStrategy]: 'Sometimes' });
        const vm = json({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'vm', namespace: 'ns' }, spec: { template: { spec: { domain: {} } } } });
        const vmDeclaration = restoreDeclaration(vmRestoreAction, () => new StaticCluster([]), {});
        const messages = [await failure(vmDeclaration.execute({ item: vm, restore, itemFromBackup: vm }, { log: quiet }))];
        messages.push(await failure(vmDeclaration.execute({ item: vm, restore, itemFromBackup: vm }, { log: quiet })));
        expect(messages[0]).toMatch(/^InvalidConfig: Restore label velero.kubevirt.io\/restore-run-strategy has invalid value "Sometimes"/);
        expect(messages[1]).toBe(messages[0]);
        const item = dv({});
        const out = await restoreDeclaration(dataVolumeRestoreAction, noCluster, {}).execute({ item, restore, itemFromBackup: item }, { log: quiet });
        expect(out.item).toBe(item);
    });
});

describe('restore calls that change nothing answer with the request bytes, without a copy', () => {
    it.each([
        ['a DataVolume without a storage class or a mapped source', 'datavolume', { source: { http: { url: 'https://example.com/disk.img' } } }, []],
        ['a DataVolume whose storage class no ConfigMap maps', 'datavolume', { storage: { storageClassName: 'fast' } }, []],
        ['a DataVolume whose storage class the ConfigMap maps to itself', 'datavolume', { storage: { storageClassName: 'fast' } }, [{ fast: 'fast' }]],
        ['a PVC without the pvc-uid label', 'pvc', {}, []],
    ] as const)('%s', async (_name, kind, spec, configMaps) => {
        const cms = configMaps.map((data, i) => ({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `cm${i}`, namespace: 'velero', labels: { 'velero.io/plugin-config': '', 'velero.io/change-storage-class': 'RestoreItemAction' } },
            data,
        }));
        const item =
            kind === 'pvc'
                ? json({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'p', namespace: 'ns', labels: { app: 'x' } }, spec: { storageClassName: 'fast' } })
                : json({ apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', metadata: { name: 'd', namespace: 'ns' }, spec });
        const clone = jest.spyOn(jsonModule, 'deepClone');
        try {
            const action = kind === 'pvc' ? pvcRestoreAction : dataVolumeRestoreAction;
            const out = await restoreDeclaration(action, () => new StaticCluster(cms), {}).execute({ item, restore: RESTORE, itemFromBackup: item }, { log: quiet });
            expect(out.item).toBe(item);
            expect(clone).not.toHaveBeenCalled();
        } finally {
            clone.mockRestore();
        }
    });

    it('a DataVolume whose storage class the ConfigMap maps is still rewritten', async () => {
        const cm = {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'cm', namespace: 'velero', labels: { 'velero.io/plugin-config': '', 'velero.io/change-storage-class': 'RestoreItemAction' } },
            data: { fast: 'slow' },
        };
        const item = json({ apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', metadata: { name: 'd', namespace: 'ns' }, spec: { storage: { storageClassName: 'fast' } } });
        const clone = jest.spyOn(jsonModule, 'deepClone');
        try {
            const out = await restoreDeclaration(dataVolumeRestoreAction, () => new StaticCluster([cm]), {}).execute(
                { item, restore: RESTORE, itemFromBackup: item },
                { log: quiet },
            );
            expect(JSON.parse(out.item.toString('utf8'))).toMatchObject({ spec: { storage: { storageClassName: 'slow' } } });
            expect(clone).toHaveBeenCalledTimes(1);
        } finally {
            clone.mockRestore();
        }
    });
});

describe('one start-of-call line per call, at debug, the same on every side', () => {
    it.each([
        [
            'backup',
            async (log: Logger) =>
                backupDeclaration(pvcBackupAction, noCluster).execute(
                    { item: json({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'p', namespace: 'ns' } }), backup: BACKUP },
                    { log },
                ),
            'Executing backup-pvc-action on PersistentVolumeClaim ns/p',
        ],
        [
            'restore',
            async (log: Logger) => {
                const item = json({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'p', namespace: 'ns' } });
                return restoreDeclaration(pvcRestoreAction, noCluster, {}).execute({ item, restore: RESTORE, itemFromBackup: item }, { log });
            },
            'Executing restore-pvc-action on PersistentVolumeClaim ns/p',
        ],
        [
            'ItemBlock',
            async (log: Logger) =>
                itemBlockDeclaration(podItemBlockAction, noCluster).relatedItems(
                    { item: json({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'vm', namespace: 'ns' } }), backup: BACKUP },
                    { log },
                ),
            'Executing block-launcher-pod-action on VirtualMachine ns/vm',
        ],
    ])('%s', async (_side, call, line) => {
        const { log, lines } = debugLog();
        await call(log);
        expect(lines.filter((l) => l.startsWith('Executing'))).toEqual([line]);
        const info: string[] = [];
        await call(new Logger('info', (l) => info.push(l)));
        expect(info).toEqual([]);
    });
});

describe('the restore adapter decodes itemFromBackup only for an action that reads it', () => {
    const ITEM = Buffer.from('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"ns"}}');
    const FROM_BACKUP = Buffer.from('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"ns","uid":"u-1"}}');

    /** A restore action that reads itemFromBackup only when told to, and reports what it saw. */
    function action(read: boolean, seen: { fromBackup?: KubeObject }): RestoreAction {
        return {
            name: 'test.io/restore',
            appliesTo: { includedResources: ['configmaps'] },
            async execute(input) {
                if (read) seen.fromBackup = input.itemFromBackup;
                return { item: input.item, additionalItems: [], skipRestore: false };
            },
        };
    }

    const cases: { name: string; read: boolean; fromBackup: Buffer; want: string | RegExp | undefined }[] = [
        { name: 'an action that reads it gets the decoded object', read: true, fromBackup: FROM_BACKUP, want: 'u-1' },
        { name: 'empty bytes read as the item itself', read: true, fromBackup: Buffer.alloc(0), want: undefined },
        { name: 'malformed bytes fail the call that reads them, naming itemFromBackup', read: true, fromBackup: Buffer.from('{oops'), want: /itemFromBackup is not valid JSON/ },
        { name: 'malformed bytes are not even looked at by an action that does not read them', read: false, fromBackup: Buffer.from('{oops'), want: undefined },
    ];
    it.each(cases)('$name', async ({ read, fromBackup, want }) => {
        const seen: { fromBackup?: KubeObject } = {};
        const call = restoreDeclaration(action(read, seen), noCluster, {}).execute({ item: ITEM, restore: Buffer.from('{}'), itemFromBackup: fromBackup }, { log: quiet });
        if (want instanceof RegExp) {
            await expect(call).rejects.toThrow(PluginError);
            await expect(call).rejects.toThrow(want);
            return;
        }
        const out = await call;
        expect(out.item).toBe(ITEM);
        if (read) expect(seen.fromBackup?.metadata?.['uid']).toBe(want);
        else expect(seen.fromBackup).toBeUndefined();
    });
});
