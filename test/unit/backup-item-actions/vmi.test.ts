import { vmiBackupAction } from '../../../src/backup-item-actions/vmi';
import { StaticCluster } from '../../support/static-cluster';
import { annotationsOf, type KubeObject } from '../../../src/kube/object';
import type { ObjectRef } from '../../../src/kube/resources';
import type { Backup } from '../../../src/kube/velero';
import { EXCLUDE, find, forbiddenCluster, label, makeBackup, refusal, runBackup, setPath, SpyCluster, wire, world } from './helpers';
import { selectorOf } from '../../../src/plugin/adapter';

const NS = 'kvp-ns';
const pod = (name: string): ObjectRef => ({ group: '', resource: 'pods', namespace: NS, name });
const dv = (name: string): ObjectRef => ({ group: 'cdi.kubevirt.io', resource: 'datavolumes', namespace: NS, name });
const pvc = (name: string): ObjectRef => ({ group: '', resource: 'persistentvolumeclaims', namespace: NS, name });

const POD_OUT = 'Refused: VM is running but launcher pod is not included in the backup: ';
const POD_FILTERED = `${POD_OUT}the backup includes PVCs but its resource filters exclude pods`;
const POD_LABELLED = (name: string): string => `${POD_OUT}launcher pod ${name} has label velero.io/exclude-from-backup=true`;
const NO_POD = (vmi: string): string => `Refused: pod for running VMI not found: no active virt-launcher pod of VMI ${vmi}`;
const VOLUMES = 'Refused: VM has DataVolume or PVC volumes and DataVolumes/PVCs is not included in the backup: ';
const META = { 'velero.kubevirt.io/metadataBackup': 'true' };
const IS_OWNED = 'cdi.kubevirt.io/velero.isOwned';

const pause = (vmi: KubeObject): void => void setPath(vmi, ['status', 'conditions'], [{ type: 'Paused', status: 'True' }]);

interface Case {
    files: string[];
    vmi: string;
    backup: Backup;
    change?: (objects: KubeObject[], vmi: KubeObject) => void;
    /** Expected refusal ("reason: detail"), or null for success. */
    error: string | null;
}

async function check(c: Case): Promise<{ item: KubeObject; additionalItems: ObjectRef[] } | undefined> {
    const objects = world(...c.files);
    const vmi = find(objects, 'VirtualMachineInstance', c.vmi);
    c.change?.(objects, vmi);
    if (c.error !== null) {
        expect(await refusal(vmiBackupAction, vmi, c.backup, objects)).toBe(c.error);
        return undefined;
    }
    const { out, item } = await runBackup(vmiBackupAction, vmi, c.backup, objects);
    return { item, additionalItems: out.additionalItems };
}

const STANDALONE_NV = ['vmi-standalone-nv.yaml'];
const STANDALONE = ['vmi-standalone.yaml', 'storage.yaml'];
const OWNED = ['vm-running.yaml', 'storage.yaml'];
const LAUNCHER_NV = 'virt-launcher-test-vmi-nv-p2k9d';

describe('VMI backup: launcher pod rules (upstream TestVMIBackupItemAction)', () => {
    test.each<[string, Case]>([
        [
            'Paused VMI can exclude pods from backup',
            { files: STANDALONE_NV, vmi: 'test-vmi-nv', backup: makeBackup({ excludedResources: ['pods'] }), change: (_o, v) => pause(v), error: null },
        ],
        [
            'Paused VMI can omit Pod in included resources',
            {
                files: STANDALONE_NV,
                vmi: 'test-vmi-nv',
                backup: makeBackup({ includedResources: ['virtualmachineinstances', 'persistentvolumeclaims'] }),
                change: (_o, v) => pause(v),
                error: null,
            },
        ],
        [
            'Paused VMI can exclude Pod by label',
            {
                files: STANDALONE_NV,
                vmi: 'test-vmi-nv',
                backup: makeBackup(),
                change: (o, v) => {
                    pause(v);
                    label(find(o, 'Pod', LAUNCHER_NV), EXCLUDE, 'true');
                },
                error: null,
            },
        ],
        [
            'Running VMI must include Pod in backup',
            { files: STANDALONE_NV, vmi: 'test-vmi-nv', backup: makeBackup({ includedResources: ['virtualmachineinstances', 'persistentvolumeclaims'] }), error: POD_FILTERED },
        ],
        ['Running VMI must not exclude Pods', { files: STANDALONE_NV, vmi: 'test-vmi-nv', backup: makeBackup({ excludedResources: ['pods'] }), error: POD_FILTERED }],
        [
            'Running VMI must not exclude its Pod by label',
            {
                files: STANDALONE_NV,
                vmi: 'test-vmi-nv',
                backup: makeBackup(),
                change: (o) => void label(find(o, 'Pod', LAUNCHER_NV), EXCLUDE, 'true'),
                error: POD_LABELLED(LAUNCHER_NV),
            },
        ],
        [
            'Running VMI must include Pod in backup unless it does not include PVCs',
            { files: STANDALONE_NV, vmi: 'test-vmi-nv', backup: makeBackup({ includedResources: ['virtualmachineinstances'] }), error: null },
        ],
        [
            'Running VMI must not exclude Pods unless it also excludes PVCs',
            { files: STANDALONE_NV, vmi: 'test-vmi-nv', backup: makeBackup({ excludedResources: ['pods', 'persistentvolumeclaims'] }), error: null },
        ],
        ['Running VMI must not exclude Pods by short name', { files: STANDALONE_NV, vmi: 'test-vmi-nv', backup: makeBackup({ excludedResources: ['po'] }), error: POD_FILTERED }],
        // Fixes: launcher pods are every active pod of the VMI; "running" is the phase, not "not paused".
        [
            'Running VMI whose only launcher pod has finished has no pod',
            {
                files: STANDALONE_NV,
                vmi: 'test-vmi-nv',
                backup: makeBackup(),
                change: (o) => void setPath(find(o, 'Pod', LAUNCHER_NV), ['status', 'phase'], 'Succeeded'),
                error: NO_POD('test-vmi-nv'),
            },
        ],
        [
            'Running VMI without any launcher pod has no pod',
            {
                files: STANDALONE_NV,
                vmi: 'test-vmi-nv',
                backup: makeBackup(),
                change: (o) => void o.splice(o.indexOf(find(o, 'Pod', LAUNCHER_NV)), 1),
                error: NO_POD('test-vmi-nv'),
            },
        ],
        [
            'Pending VMI without a launcher pod is not running',
            {
                files: STANDALONE_NV,
                vmi: 'test-vmi-nv',
                backup: makeBackup(),
                change: (o, v) => {
                    setPath(v, ['status'], { phase: 'Pending' });
                    o.splice(o.indexOf(find(o, 'Pod', LAUNCHER_NV)), 1);
                },
                error: null,
            },
        ],
        [
            'Failed VMI without a launcher pod is not running',
            {
                files: STANDALONE_NV,
                vmi: 'test-vmi-nv',
                backup: makeBackup(),
                change: (o, v) => {
                    setPath(v, ['status', 'phase'], 'Failed');
                    o.splice(o.indexOf(find(o, 'Pod', LAUNCHER_NV)), 1);
                },
                error: null,
            },
        ],
        [
            'Running VMI without a pod passes when pods and PVCs are both excluded',
            {
                files: STANDALONE_NV,
                vmi: 'test-vmi-nv',
                backup: makeBackup({ excludedResources: ['pods', 'persistentvolumeclaims'] }),
                change: (o) => void o.splice(o.indexOf(find(o, 'Pod', LAUNCHER_NV)), 1),
                error: null,
            },
        ],
        [
            'Migrating VMI must not exclude its migration target pod by label',
            {
                files: [...OWNED, 'launcher-pods-migration.yaml'],
                vmi: 'test-vm',
                backup: makeBackup(),
                change: (o) => void label(find(o, 'Pod', 'virt-launcher-test-vm-m9r3t'), EXCLUDE, 'true'),
                error: POD_LABELLED('virt-launcher-test-vm-m9r3t'),
            },
        ],
    ])('%s', async (_name, c) => {
        await check(c);
    });
});

describe('VMI backup: owned VMIs', () => {
    it('Owned VMI must add the isOwned annotation and return its graph', async () => {
        const r = await check({ files: OWNED, vmi: 'test-vm', backup: makeBackup(), error: null });
        expect(annotationsOf(r!.item)).toEqual({ [IS_OWNED]: 'true' });
        expect(wire(r!.additionalItems)).toEqual([
            pod('virt-launcher-test-vm-x7k2p'),
            dv('test-dv-template'),
            pvc('test-dv-template'),
            dv('test-dv'),
            pvc('test-dv'),
            pvc('test-pvc'),
        ]);
    });

    test.each<[string, Case]>([
        [
            "Owned VMI: won't back up the VMI's dependencies if VMs are excluded",
            { files: OWNED, vmi: 'test-vm', backup: makeBackup({ excludedResources: ['virtualmachines'] }), error: null },
        ],
        ['Owned VMI: VMs not in the include list', { files: OWNED, vmi: 'test-vm', backup: makeBackup({ includedResources: ['vmi', 'pods'] }), error: null }],
        [
            'Owned VMI: will ignore the VMI if the VM is excluded by label',
            { files: OWNED, vmi: 'test-vm', backup: makeBackup(), change: (o) => void label(find(o, 'VirtualMachine', 'test-vm'), EXCLUDE, 'true'), error: null },
        ],
        [
            "Owned VMI: the VM does not match the backup's label selector",
            { files: OWNED, vmi: 'test-vm', backup: makeBackup({ labelSelector: { matchLabels: { tier: 'db' } } }), change: (_o, v) => void label(v, 'tier', 'db'), error: null },
        ],
        // Running checks are skipped too: the pod is excluded but the VM is not in the backup anyway.
        [
            'Owned VMI of an excluded VM is not checked for its launcher pod',
            { files: OWNED, vmi: 'test-vm', backup: makeBackup({ excludedResources: ['virtualmachines', 'pods'] }), error: null },
        ],
    ])('%s; it is still marked owned (upstream left it unmarked)', async (_name, c) => {
        const r = await check(c);
        expect(annotationsOf(r!.item)[IS_OWNED]).toBe('true');
        expect(wire(r!.additionalItems)).toEqual([]);
    });

    it('Owned VMI whose VM matches the label selector is handled normally', async () => {
        const r = await check({ files: OWNED, vmi: 'test-vm', backup: makeBackup({ labelSelector: { matchLabels: { app: 'demo' } } }), error: null });
        expect(r!.additionalItems).toHaveLength(6);
    });

    it('Owned VMI is not checked for restorability (its VM is)', async () => {
        const r = await check({ files: OWNED, vmi: 'test-vm', backup: makeBackup({ excludedResources: ['datavolumes'] }), error: null });
        expect(annotationsOf(r!.item)).toEqual({ [IS_OWNED]: 'true' });
    });

    it('Owned VMI whose VM no longer exists is handled as included', async () => {
        const objects = world(...OWNED).filter((o) => o.kind !== 'VirtualMachine');
        const { out, log } = await runBackup(vmiBackupAction, find(objects, 'VirtualMachineInstance', 'test-vm'), makeBackup(), objects);
        expect(annotationsOf(out.item!)).toEqual({ [IS_OWNED]: 'true' });
        expect(out.additionalItems).toHaveLength(6);
        expect(log.at('info')).toContain('VM kvp-ns/test-vm owning VMI test-vm was not found; treating it as included');
    });

    test.each<[string, { apiVersion: string; kind: string; name: string }]>([
        ['VirtualMachineInstanceReplicaSet', { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstanceReplicaSet', name: 'test-rs' }],
        ['VirtualMachinePool', { apiVersion: 'pool.kubevirt.io/v1alpha1', kind: 'VirtualMachinePool', name: 'test-pool' }],
        ['VirtualMachine of another API group', { apiVersion: 'vmoperator.vmware.com/v1alpha1', kind: 'VirtualMachine', name: 'test-rs-4kq7x' }],
    ])('VMI owned by a %s does not fail and looks no VM up (upstream: NotFound error)', async (_name, owner) => {
        const objects = world('vmi-replicaset.yaml');
        const vmi = find(objects, 'VirtualMachineInstance', 'test-rs-4kq7x');
        setPath(vmi, ['metadata', 'ownerReferences'], [{ ...owner, uid: 'u1', controller: true }]);
        const cluster = new SpyCluster(new StaticCluster(objects));
        const { out } = await runBackup(vmiBackupAction, vmi, makeBackup(), cluster);
        expect(annotationsOf(out.item!)[IS_OWNED]).toBe('true');
        expect(wire(out.additionalItems)).toEqual([pod('virt-launcher-test-rs-4kq7x-v6b8n')]);
        expect(cluster.calls.filter((c) => c.includes('virtualmachines '))).toEqual([]);
    });
});

describe('VMI backup: standalone VMI volumes', () => {
    test.each<[string, Case]>([
        [
            'Not owned VMI with DV volumes must include DataVolumes in backup',
            {
                files: STANDALONE,
                vmi: 'test-vmi',
                backup: makeBackup({ includedResources: ['virtualmachineinstances', 'pods', 'persistentvolumeclaims'] }),
                error: `${VOLUMES}DataVolume test-dv is excluded by the backup's resource filters`,
            },
        ],
        [
            'Not owned VMI with DV volumes must not exclude DataVolumes from backup',
            {
                files: STANDALONE,
                vmi: 'test-vmi',
                backup: makeBackup({ excludedResources: ['datavolumes'] }),
                error: `${VOLUMES}DataVolume test-dv is excluded by the backup's resource filters`,
            },
        ],
        [
            'Not owned VMI with DV volumes can exclude DataVolumes from backup when using metadataBackup label',
            { files: STANDALONE, vmi: 'test-vmi', backup: makeBackup({ excludedResources: ['datavolumes'] }, META), error: null },
        ],
        [
            'Not owned VMI with PVC volumes must include PVCs in backup',
            {
                files: STANDALONE,
                vmi: 'test-vmi',
                backup: makeBackup({ includedResources: ['virtualmachineinstances', 'pods', 'datavolumes'] }),
                error: `${VOLUMES}PVC test-pvc is excluded by the backup's resource filters`,
            },
        ],
        [
            'Not owned VMI with PVC volumes must not exclude PVCs from backup',
            {
                files: STANDALONE,
                vmi: 'test-vmi',
                backup: makeBackup({ excludedResources: ['persistentvolumeclaims', 'pods'] }),
                error: `${VOLUMES}PVC test-pvc is excluded by the backup's resource filters`,
            },
        ],
        [
            'Not owned VMI must not have its DataVolume excluded by label',
            {
                files: STANDALONE,
                vmi: 'test-vmi',
                backup: makeBackup(),
                change: (o) => void label(find(o, 'DataVolume', 'test-dv'), EXCLUDE, 'true'),
                error: `${VOLUMES}DataVolume test-dv has label velero.io/exclude-from-backup=true`,
            },
        ],
        [
            'metadataBackup=false does not skip the check',
            {
                files: STANDALONE,
                vmi: 'test-vmi',
                backup: makeBackup({ excludedResources: ['dv'] }, { 'velero.kubevirt.io/metadataBackup': 'false' }),
                error: `${VOLUMES}DataVolume test-dv is excluded by the backup's resource filters`,
            },
        ],
    ])('%s', async (_name, c) => {
        await check(c);
    });

    it('Launcher pod and volumes are included in extra resources', async () => {
        const r = await check({ files: STANDALONE, vmi: 'test-vmi', backup: makeBackup(), error: null });
        expect(wire(r!.additionalItems)).toEqual([pod('virt-launcher-test-vmi-h5d2s'), dv('test-dv'), pvc('test-dv'), pvc('test-pvc')]);
    });

    it('Migrating VMI includes both active launcher pods in extra resources', async () => {
        const r = await check({ files: [...OWNED, 'launcher-pods-migration.yaml'], vmi: 'test-vm', backup: makeBackup(), error: null });
        expect(wire(r!.additionalItems.filter((x) => x.resource === 'pods'))).toEqual([pod('virt-launcher-test-vm-m9r3t'), pod('virt-launcher-test-vm-x7k2p')]);
    });
});

describe('VMI backup: consistency of standalone VMIs', () => {
    test.each<[string, (v: KubeObject) => void, string, string]>([
        [
            'running standalone VMI with agent and hooks',
            () => undefined,
            '{"level":"filesystem","reasons":["virt-freezer hooks on the launcher pod","guest agent connected"],"launcherPods":["virt-launcher-test-vmi-h5d2s"]}',
            'info',
        ],
        [
            'running standalone VMI without agent',
            (v) => void setPath(v, ['status', 'conditions'], []),
            '{"level":"crash","reasons":["guest agent not connected: virt-freezer cannot freeze the filesystems"],"launcherPods":["virt-launcher-test-vmi-h5d2s"]}',
            'warn',
        ],
        [
            'finished standalone VMI',
            (v) => void setPath(v, ['status', 'phase'], 'Succeeded'),
            '{"level":"offline","reasons":["VMI phase is Succeeded"],"launcherPods":[]}',
            'debug',
        ],
    ])('%s', async (_name, change, annotation, level) => {
        const objects = world(...STANDALONE);
        const vmi = find(objects, 'VirtualMachineInstance', 'test-vmi');
        change(vmi);
        const { item, log } = await runBackup(vmiBackupAction, vmi, makeBackup(), objects);
        expect(annotationsOf(item)['velero.kubevirt.io/backup-consistency']).toBe(annotation);
        expect(log.entries.filter((e) => e.message.startsWith('VMI kvp-ns/test-vmi: ')).map((e) => e.level)).toEqual([level]);
    });

    it('a VM-owned VMI gets no consistency record (its VM has it)', async () => {
        const r = await check({ files: OWNED, vmi: 'test-vm', backup: makeBackup(), error: null });
        expect(Object.keys(annotationsOf(r!.item))).toEqual([IS_OWNED]);
    });
});

describe('VMI backup: bad input', () => {
    const base = (): KubeObject => find(world(...STANDALONE_NV), 'VirtualMachineInstance', 'test-vmi-nv');
    test.each<[string, () => KubeObject, string]>([
        ['wrong kind', () => ({ ...base(), kind: 'Pod' }), 'InvalidItem: expected a VirtualMachineInstance, got kind "Pod"'],
        ['missing metadata', () => setPath(base(), ['metadata'], undefined), 'InvalidItem: metadata is missing'],
        ['spec null', () => setPath(base(), ['spec'], null), 'InvalidItem: spec is null'],
        ['spec missing', () => setPath(base(), ['spec'], undefined), 'InvalidItem: spec is missing'],
        ['volumes not a list', () => setPath(base(), ['spec', 'volumes'], 'disk'), 'InvalidItem: spec.volumes is not a list'],
    ])('%s', async (_name, make, expected) => {
        expect(await refusal(vmiBackupAction, make(), makeBackup())).toBe(expected);
    });

    it('an empty Backup object is an input error with the upstream text', async () => {
        expect(await refusal(vmiBackupAction, base(), {})).toBe('InvalidItem: backup object nil!: the request carried no Backup object');
    });

    it('a cluster error propagates unchanged', async () => {
        await expect(runBackup(vmiBackupAction, base(), makeBackup(), forbiddenCluster)).rejects.toMatchObject({ reason: 'Forbidden' });
    });

    it('keeps the upstream name and applies to kubevirt.io VMIs only', () => {
        expect(vmiBackupAction.name).toBe('kubevirt-velero-plugin/backup-virtualmachineinstance-action');
        expect(selectorOf(vmiBackupAction.appliesTo)).toEqual({ includedResources: ['virtualmachineinstances.kubevirt.io'] });
    });
});
