/**
 * preflight backup: the verdicts for each VM/VMI come from the backup action cores, so each case states
 * what the backup would do (and the refusal texts are the ones the actions throw, item prefix included).
 */
import { vmBackupAction } from '../../../src/backup-item-actions/vm';
import { runBackupAction } from '../../../src/plugin/adapter';
import { toPluginError } from '../../../src/errors';
import type { KubeObject } from '../../../src/kube/object';
import { preflightBackup, snapshotProblem } from '../../../src/preflight/backup';
import type { BackupSubject } from '../../../src/preflight/report';
import { Logger } from '../../../src/logging/logger';
import { StaticCluster } from '../../support/static-cluster';
import { backupOf, cluster, fixtureObjects, ns } from './helpers';

const NS = 'kvp-ns';

function world(edit: (objs: KubeObject[]) => void = () => undefined): KubeObject[] {
    const objs = [ns(NS), ns('other'), ...fixtureObjects('backup/vm-running.yaml', 'backup/storage.yaml', 'backup/vmi-standalone.yaml')];
    edit(objs);
    return objs;
}

function named(objs: KubeObject[], kind: string, name: string): KubeObject {
    const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
    if (!o) throw new Error(`no ${kind} ${name}`);
    return o;
}

function subject(subjects: BackupSubject[], kind: string, name: string): BackupSubject {
    const s = subjects.find((x) => x.kind === kind && x.name === name);
    if (!s) throw new Error(`no subject ${kind} ${name}: ${subjects.map((x) => x.name).join(', ')}`);
    return s;
}

function included(s: BackupSubject): string[] {
    return s.related.filter((r) => r.status === 'included').map((r) => `${r.resource} ${r.name}`);
}

describe('preflight backup', () => {
    it('a running VM with its launcher pod is included, filesystem-consistent, and brings VMI, pod, DataVolumes and PVCs', async () => {
        const { subjects } = await preflightBackup(backupOf({ includedNamespaces: [NS] }), cluster(world()));
        const vm = subject(subjects, 'VirtualMachine', 'test-vm');
        expect(vm).toMatchObject({ included: true, refusals: [] });
        expect(vm.consistency?.level).toBe('filesystem');
        expect(included(vm)).toEqual(
            expect.arrayContaining([
                'virtualmachineinstances.kubevirt.io test-vm',
                'pods virt-launcher-test-vm-x7k2p',
                'datavolumes.cdi.kubevirt.io test-dv',
                'persistentvolumeclaims test-dv',
                'datavolumes.cdi.kubevirt.io test-dv-template',
                'persistentvolumeclaims test-pvc',
            ]),
        );
    });

    it('refuses a running VM when pods are excluded, with the exact texts of the VM and VMI actions', async () => {
        const objs = world();
        const backup = backupOf({ includedNamespaces: [NS], excludedResources: ['pods'] });
        const { subjects } = await preflightBackup(backup, cluster(objs));
        const vm = subject(subjects, 'VirtualMachine', 'test-vm');
        // The same text the action gives Velero, computed independently here.
        const direct = await runBackupAction(vmBackupAction, named(objs, 'VirtualMachine', 'test-vm'), backup, {
            cluster: new StaticCluster(objs),
            log: new Logger('error', () => undefined),
        }).then(
            () => '',
            (e: unknown) => toPluginError(e, { kind: 'VirtualMachine', namespace: NS, name: 'test-vm' }).message,
        );
        expect(direct).toBe(
            "VirtualMachine kvp-ns/test-vm: VM cannot be safely backed up: the VM is running and the backup includes PVCs but its resource filters exclude pods, so the launcher pod's freeze hooks cannot run",
        );
        // The VMI is in the VM's ItemBlock (and listed), so its own action runs and refuses as well.
        expect(vm.refusals).toEqual([
            direct,
            'VirtualMachineInstance kvp-ns/test-vm: VM is running but launcher pod is not included in the backup: the backup includes PVCs but its resource filters exclude pods',
        ]);
        const vmi = subject(subjects, 'VirtualMachineInstance', 'test-vmi');
        expect(vmi.refusals).toEqual([
            'VirtualMachineInstance kvp-ns/test-vmi: VM is running but launcher pod is not included in the backup: the backup includes PVCs but its resource filters exclude pods',
        ]);
    });

    it('a VM excluded by label, by the resource filters or by the selector is not included, with the reason', async () => {
        const cases: [string, ReturnType<typeof backupOf>, (o: KubeObject[]) => void, string][] = [
            [
                'exclude label',
                backupOf({ includedNamespaces: [NS] }),
                (o) => ((named(o, 'VirtualMachine', 'test-vm').metadata as { labels: Record<string, string> }).labels['velero.io/exclude-from-backup'] = 'true'),
                'label velero.io/exclude-from-backup=true',
            ],
            [
                'resource filter',
                backupOf({ includedNamespaces: [NS], includedResources: ['pods', 'pvc'] }),
                () => undefined,
                "the backup's resource filters exclude virtualmachines",
            ],
            [
                'selector',
                backupOf({ includedNamespaces: [NS], labelSelector: { matchLabels: { app: 'other' } } }),
                () => undefined,
                "the backup's label selector does not match its labels",
            ],
        ];
        for (const [, backup, edit, why] of cases) {
            const { subjects } = await preflightBackup(backup, cluster(world(edit)));
            expect(subject(subjects, 'VirtualMachine', 'test-vm')).toMatchObject({ included: false, inclusion: why, refusals: [] });
        }
    });

    it('a VM the selector misses is still included when its launcher pod is selected (the pod ItemBlock brings it)', async () => {
        const backup = backupOf({ includedNamespaces: [NS], labelSelector: { matchLabels: { 'kubevirt.io': 'virt-launcher' } } });
        const { subjects } = await preflightBackup(backup, cluster(world()));
        const vm = subject(subjects, 'VirtualMachine', 'test-vm');
        expect(vm.included).toBe(true);
        expect(vm.inclusion).toMatch(/launcher pod virt-launcher-test-vm-x7k2p/);
    });

    it('refuses a VM whose DataVolume carries the exclude label, unless the backup is metadataBackup', async () => {
        const edit = (o: KubeObject[]): void => {
            named(o, 'DataVolume', 'test-dv').metadata = { ...named(o, 'DataVolume', 'test-dv').metadata, labels: { 'velero.io/exclude-from-backup': 'true' } };
        };
        const refused = await preflightBackup(backupOf({ includedNamespaces: [NS] }), cluster(world(edit)));
        expect(subject(refused.subjects, 'VirtualMachine', 'test-vm').refusals).toEqual([
            'VirtualMachine kvp-ns/test-vm: VM would not be restored correctly: DataVolume test-dv has label velero.io/exclude-from-backup=true',
        ]);
        const metadata = await preflightBackup(backupOf({ includedNamespaces: [NS] }, { 'velero.kubevirt.io/metadataBackup': 'true' }), cluster(world(edit)));
        const vm = subject(metadata.subjects, 'VirtualMachine', 'test-vm');
        expect(vm.refusals).toEqual([]);
        expect(vm.related.find((r) => r.name === 'test-dv' && r.resource === 'datavolumes.cdi.kubevirt.io')?.status).toBe('filtered');
    });

    it('reports a referenced PVC that does not exist as a missing reference', async () => {
        const { subjects } = await preflightBackup(
            backupOf({ includedNamespaces: [NS] }),
            cluster(world((o) => o.splice(o.indexOf(named(o, 'PersistentVolumeClaim', 'test-pvc')), 1))),
        );
        const vm = subject(subjects, 'VirtualMachine', 'test-vm');
        expect(vm.related).toContainEqual(expect.objectContaining({ resource: 'persistentvolumeclaims', name: 'test-pvc', status: 'missing' }));
        expect(vm.findings).toContainEqual(expect.objectContaining({ code: 'MissingReference', severity: 'warning' }));
    });

    it('a running VM without a connected guest agent is only crash-consistent, and says why', async () => {
        const { subjects } = await preflightBackup(
            backupOf({ includedNamespaces: [NS] }),
            cluster(world((o) => ((named(o, 'VirtualMachineInstance', 'test-vm').status as { conditions: unknown[] }).conditions = []))),
        );
        const vm = subject(subjects, 'VirtualMachine', 'test-vm');
        expect(vm.consistency).toEqual({
            level: 'crash',
            reasons: ['guest agent not connected: virt-freezer cannot freeze the filesystems'],
            launcherPods: ['virt-launcher-test-vm-x7k2p'],
        });
    });

    it('a standalone VMI is a subject of its own, with its launcher pod and volumes', async () => {
        const { subjects } = await preflightBackup(backupOf({ includedNamespaces: [NS] }), cluster(world()));
        const vmi = subject(subjects, 'VirtualMachineInstance', 'test-vmi');
        expect(vmi).toMatchObject({ included: true, refusals: [] });
        expect(vmi.consistency?.level).toBe('filesystem');
        expect(included(vmi)).toEqual(expect.arrayContaining(['pods virt-launcher-test-vmi-h5d2s', 'persistentvolumeclaims test-pvc']));
        // The VMI owned by test-vm is reported under its VM, not on its own.
        expect(subjects.filter((s) => s.kind === 'VirtualMachineInstance').map((s) => s.name)).toEqual(['test-vmi']);
    });

    it('namespace filters: "*" lists the namespaces, excludes and globs apply', async () => {
        const all = await preflightBackup(backupOf({}), cluster(world()));
        expect(all.namespaces).toEqual([NS, 'other']);
        const excluded = await preflightBackup(backupOf({ includedNamespaces: ['*'], excludedNamespaces: ['kvp-*'] }), cluster(world()));
        expect(excluded.namespaces).toEqual(['other']);
        expect(excluded.subjects).toEqual([]);
    });

    it('a cluster read that fails becomes an error finding, not a crash', async () => {
        const failing = { get: () => Promise.reject(new Error('boom')), list: () => Promise.reject(new Error('boom')) };
        const result = await preflightBackup(backupOf({ includedNamespaces: [NS] }), failing);
        expect(result.findings).toEqual([expect.objectContaining({ severity: 'error', code: 'ClusterRead' })]);
    });
});

describe('snapshot path of a PVC', () => {
    const pvc = (sc?: string): KubeObject => ({ kind: 'PersistentVolumeClaim', metadata: { name: 'p', namespace: 'n' }, spec: sc ? { storageClassName: sc } : {} });
    const sc = (name: string, provisioner: string, isDefault = false): KubeObject => ({
        kind: 'StorageClass',
        metadata: { name, annotations: isDefault ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : {} },
        provisioner,
    });
    const vsc = (driver: string): KubeObject => ({ kind: 'VolumeSnapshotClass', metadata: { name: driver }, driver });
    it.each([
        ['a VolumeSnapshotClass for the driver', pvc('fast'), [sc('fast', 'csi.a')], [vsc('csi.a')], undefined],
        [
            'no VolumeSnapshotClass for the driver',
            pvc('fast'),
            [sc('fast', 'csi.a')],
            [vsc('csi.b')],
            'PVC n/p: no VolumeSnapshotClass for CSI driver csi.a (storage class fast): its data has no snapshot path',
        ],
        ['the default storage class when the PVC names none', pvc(), [sc('d', 'csi.d', true)], [vsc('csi.d')], undefined],
        ['a storage class that does not exist', pvc('gone'), [], [], 'PVC n/p: storage class gone does not exist, so its CSI driver is unknown'],
    ])('%s', (_what, claim, classes, snapshotClasses, expected) => {
        expect(snapshotProblem(claim, { storageClasses: classes, snapshotClasses })).toBe(expected);
    });

    it('the backup reports PVCs without a snapshot path, and only informs when snapshots are off', async () => {
        const objs = [...world(), sc('', 'x')].filter((o) => o.kind !== 'StorageClass');
        for (const o of objs) if (o.kind === 'PersistentVolumeClaim') (o.spec as Record<string, unknown>)['storageClassName'] = 'fast';
        objs.push({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast' }, provisioner: 'csi.a' });
        const on = await preflightBackup(backupOf({ includedNamespaces: [NS] }), cluster(objs));
        expect(subject(on.subjects, 'VirtualMachine', 'test-vm').findings.filter((f) => f.code === 'NoSnapshotPath')).toHaveLength(3);
        objs.push({ apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshotClass', metadata: { name: 'a' }, driver: 'csi.a' });
        const withClass = await preflightBackup(backupOf({ includedNamespaces: [NS] }), cluster(objs));
        expect(subject(withClass.subjects, 'VirtualMachine', 'test-vm').findings.filter((f) => f.code === 'NoSnapshotPath')).toEqual([]);
        const off = await preflightBackup(backupOf({ includedNamespaces: [NS], snapshotVolumes: false }), cluster(objs));
        expect(subject(off.subjects, 'VirtualMachine', 'test-vm').findings).toEqual([expect.objectContaining({ severity: 'info', code: 'SnapshotsDisabled' })]);
    });
});
