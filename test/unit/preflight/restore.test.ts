/**
 * preflight restore: the items of a backup (in memory, as the tarball reader gives them) against a
 * target cluster, with the verdicts of the restore action cores.
 */
import type { KubeObject } from '../../../src/kube/object';
import { preflightRestore } from '../../../src/preflight/restore';
import type { RestoreSubject } from '../../../src/preflight/report';
import { cluster, contentsOf, ns, restoreOf } from './helpers';

const SRC = 'src';

function vm(overrides: { name?: string; mac?: string; serial?: string; networks?: unknown[]; sc?: string; labels?: Record<string, string>; sourceNs?: string } = {}): KubeObject {
    const name = overrides.name ?? 'web';
    return {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name, namespace: SRC, labels: { app: 'web', 'velero.kubevirt.io/vm': name, ...overrides.labels } },
        spec: {
            runStrategy: 'Always',
            dataVolumeTemplates: [
                {
                    metadata: { name: `${name}-root` },
                    spec: { sourceRef: { kind: 'DataSource', name: 'fedora', namespace: overrides.sourceNs ?? 'golden' }, storage: { storageClassName: overrides.sc ?? 'fast' } },
                },
            ],
            template: {
                spec: {
                    domain: {
                        devices: { interfaces: [{ name: 'default', masquerade: {}, macAddress: overrides.mac ?? '02:00:00:00:00:01' }] },
                        firmware: { serial: overrides.serial ?? 'SERIAL-1' },
                    },
                    networks: overrides.networks ?? [{ name: 'default', pod: {} }],
                    volumes: [
                        { name: 'root', dataVolume: { name: `${name}-root` } },
                        { name: 'data', persistentVolumeClaim: { claimName: `${name}-data` } },
                    ],
                },
            },
        },
    };
}

function backupItems(name = 'web'): KubeObject[] {
    return [
        {
            apiVersion: 'cdi.kubevirt.io/v1beta1',
            kind: 'DataVolume',
            metadata: { name: `${name}-root`, namespace: SRC, annotations: { 'cdi.kubevirt.io/storage.prePopulated': `${name}-root` } },
            spec: { sourceRef: { kind: 'DataSource', name: 'fedora', namespace: 'golden' }, storage: { storageClassName: 'fast' } },
        },
        { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: `${name}-root`, namespace: SRC }, spec: { storageClassName: 'fast' } },
        { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: `${name}-data`, namespace: SRC }, spec: { storageClassName: 'slow' } },
        {
            apiVersion: 'kubevirt.io/v1',
            kind: 'VirtualMachineInstance',
            metadata: {
                name,
                namespace: SRC,
                annotations: { 'cdi.kubevirt.io/velero.isOwned': 'true' },
                ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name }],
            },
            spec: {},
        },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: `virt-launcher-${name}-abcde`, namespace: SRC, labels: { 'kubevirt.io': 'virt-launcher' } } },
    ];
}

const sc = (name: string): KubeObject => ({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name }, provisioner: 'csi.x' });
const golden: KubeObject[] = [ns('golden'), { apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataSource', metadata: { name: 'fedora', namespace: 'golden' } }];
const target = (...more: KubeObject[]): KubeObject[] => [sc('fast'), sc('slow'), ...golden, ...more];

function only(subjects: RestoreSubject[]): RestoreSubject {
    expect(subjects).toHaveLength(1);
    return subjects[0] as RestoreSubject;
}

function codes(s: RestoreSubject): string[] {
    return s.findings.map((f) => `${f.severity} ${f.code}`);
}

describe('preflight restore', () => {
    it('restores the VM with its DataVolume and PVCs; the owned VMI and the launcher pod are not subjects', async () => {
        const { subjects, findings } = await preflightRestore(restoreOf(), contentsOf([vm(), ...backupItems()]), cluster(target()));
        const s = only(subjects);
        expect(findings).toEqual([]);
        expect(s).toMatchObject({ kind: 'VirtualMachine', name: 'web', restored: true, refusals: [], identity: [] });
        expect(s.related.map((r) => `${r.status} ${r.resource} ${r.name}`)).toEqual([
            'restored datavolumes.cdi.kubevirt.io web-root',
            'restored persistentvolumeclaims web-root',
            'restored persistentvolumeclaims web-data',
        ]);
        expect(codes(s)).toEqual([]);
    });

    it('a VM that exists in the target is a name collision: Velero keeps the existing one', async () => {
        const existing = { ...vm(), metadata: { name: 'web', namespace: SRC } };
        const s = only((await preflightRestore(restoreOf(), contentsOf([vm(), ...backupItems()]), cluster(target(existing)))).subjects);
        expect(s.restored).toBe(false);
        expect(codes(s)).toEqual(['error NameCollision']);
    });

    it('a MAC or serial used by a VM of the target is a collision; identity-policy=auto resolves it, the default keeps it', async () => {
        const other = vm({ name: 'other' });
        other.metadata = { name: 'other', namespace: 'elsewhere' };
        const items = contentsOf([vm(), ...backupItems()]);
        const kept = only((await preflightRestore(restoreOf(), items, cluster(target(other)))).subjects);
        expect(kept.identity).toEqual([
            expect.objectContaining({
                field: 'spec.template.spec.domain.devices.interfaces[0].macAddress',
                value: '02:00:00:00:00:01',
                usedBy: 'VirtualMachine elsewhere/other',
                requested: 'kept (collides)',
            }),
            expect.objectContaining({ field: 'spec.template.spec.domain.firmware.serial', value: 'SERIAL-1', requested: 'kept (collides)' }),
        ]);
        expect(codes(kept)).toEqual(['error IdentityCollision', 'error IdentityCollision']);
        const auto = only((await preflightRestore(restoreOf({}, { 'velero.kubevirt.io/identity-policy': 'auto' }), items, cluster(target(other)))).subjects);
        expect(auto.identity.map((i) => i.requested)).toEqual(['cleared', 'replaced']);
        expect(codes(auto)).toEqual(['info IdentityCollision', 'info IdentityCollision']);
    });

    it("an invalid run-strategy label fails the VM with the action's message", async () => {
        const { subjects, findings } = await preflightRestore(
            restoreOf({}, { 'velero.kubevirt.io/restore-run-strategy': 'Sometimes' }),
            contentsOf([vm(), ...backupItems()]),
            cluster(target()),
        );
        const message = 'Restore label velero.kubevirt.io/restore-run-strategy has invalid value "Sometimes": allowed values are Always, Halted, Manual, RerunOnFailure, Once';
        expect(only(subjects).refusals).toEqual([`VirtualMachine src/web: ${message}`]);
        expect(findings).toEqual([expect.objectContaining({ code: 'InvalidRestoreLabel', message })]);
    });

    it('storage classes are checked after the change-storage-class ConfigMap', async () => {
        const cm: KubeObject = {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'change-sc', namespace: 'velero', labels: { 'velero.io/plugin-config': '', 'velero.io/change-storage-class': 'RestoreItemAction' } },
            data: { fast: 'fast-b' },
        };
        const items = contentsOf([vm(), ...backupItems()]);
        const missing = only((await preflightRestore(restoreOf(), items, cluster(target(cm)))).subjects);
        expect(missing.findings.filter((f) => f.code === 'StorageClassMissing').map((f) => f.message)).toEqual([
            'VM spec.dataVolumeTemplates[0].spec.storage.storageClassName: storage class fast-b does not exist in the target cluster (after the change-storage-class ConfigMap)',
            'DataVolume src/web-root spec.storage.storageClassName: storage class fast-b does not exist in the target cluster (after the change-storage-class ConfigMap)',
            'PVC src/web-root spec.storageClassName: storage class fast-b does not exist in the target cluster (after the change-storage-class ConfigMap)',
        ]);
        const present = only((await preflightRestore(restoreOf(), items, cluster(target(cm, sc('fast-b'))))).subjects);
        expect(codes(present)).toEqual([]);
    });

    it('a Multus network whose NetworkAttachmentDefinition is missing in the target (after the namespace mapping)', async () => {
        const item = vm({
            networks: [
                { name: 'n1', multus: { networkName: 'src/net1' } },
                { name: 'n2', multus: { networkName: 'shared/net2' } },
            ],
        });
        const nad = (n: string, namespace: string): KubeObject => ({ apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: n, namespace } });
        const restore = restoreOf({ namespaceMapping: { src: 'dst' } });
        const s = only((await preflightRestore(restore, contentsOf([item, ...backupItems()]), cluster(target(nad('net2', 'shared'))))).subjects);
        expect(s.targetNamespace).toBe('dst');
        expect(s.findings.filter((f) => f.code === 'NetworkMissing').map((f) => f.message)).toEqual([
            'network dst/net1: NetworkAttachmentDefinition dst/net1 does not exist in the target cluster and is not in the backup',
        ]);
    });

    it('a golden-image namespace missing in the target is an error, a warning when the DataVolume comes back prePopulated', async () => {
        const s = only((await preflightRestore(restoreOf(), contentsOf([vm({ sourceNs: 'images' }), ...backupItems()]), cluster(target()))).subjects);
        expect(s.findings.filter((f) => f.code === 'SourceNamespaceMissing').map((f) => `${f.severity} ${f.message}`)).toEqual([
            'warning spec.dataVolumeTemplates[0].spec.sourceRef: namespace images does not exist in the target cluster',
        ]);
        const noDv = only((await preflightRestore(restoreOf(), contentsOf([vm({ sourceNs: 'images' }), ...backupItems().slice(1)]), cluster(target()))).subjects);
        expect(noDv.findings.filter((f) => f.code === 'SourceNamespaceMissing').map((f) => f.severity)).toEqual(['error']);
        expect(noDv.findings.filter((f) => f.code === 'NotInBackup')).toHaveLength(1);
    });

    it('the restore filters decide what is restored: selector, resource filters, namespaces', async () => {
        const items = contentsOf([vm(), vm({ name: 'db', labels: { app: 'db' } }), ...backupItems(), ...backupItems('db')]);
        const bySelector = await preflightRestore(restoreOf({ labelSelector: { matchLabels: { 'velero.kubevirt.io/vm': 'db' } } }), items, cluster(target()));
        expect(bySelector.subjects.map((s) => `${s.name} ${s.restored}`)).toEqual(['db true', 'web false']);
        // Selected VM: its objects come with it although the selector does not match them.
        expect(bySelector.subjects[0]?.related.every((r) => r.status === 'restored')).toBe(true);
        const noVms = await preflightRestore(restoreOf({ excludedResources: ['virtualmachines'] }), items, cluster(target()));
        expect(noVms.subjects.map((s) => s.reason)).toEqual(["the restore's resource filters exclude it", "the restore's resource filters exclude it"]);
        const otherNs = await preflightRestore(restoreOf({ includedNamespaces: ['nothing'] }), items, cluster(target()));
        expect(otherNs.subjects.every((s) => !s.restored)).toBe(true);
    });

    it('a PVC whose DataVolume was still importing is skipped by restore-pvc-action', async () => {
        const items = backupItems();
        (items[2] as KubeObject).metadata = { ...(items[2] as KubeObject).metadata, annotations: { 'kvp.kubevirt.io/storage.inprogress': 'web-data' } };
        const s = only((await preflightRestore(restoreOf(), contentsOf([vm(), ...items]), cluster(target()))).subjects);
        expect(s.related.find((r) => r.name === 'web-data')).toMatchObject({ status: 'skipped', note: 'kubevirt-velero-plugin/restore-pvc-action skips it' });
    });

    it('a standalone VMI is restored as such and checked like a VM', async () => {
        const vmi: KubeObject = {
            apiVersion: 'kubevirt.io/v1',
            kind: 'VirtualMachineInstance',
            metadata: { name: 'solo', namespace: SRC },
            spec: {
                domain: { devices: { interfaces: [{ name: 'default', macAddress: '02:00:00:00:00:09' }] } },
                volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'solo-disk' } }],
            },
        };
        const pvc: KubeObject = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'solo-disk', namespace: SRC }, spec: { storageClassName: 'gone' } };
        const s = only((await preflightRestore(restoreOf(), contentsOf([vmi, pvc]), cluster(target()))).subjects);
        expect(s).toMatchObject({ kind: 'VirtualMachineInstance', name: 'solo', restored: true });
        expect(codes(s)).toEqual(['error StorageClassMissing']);
    });
});
