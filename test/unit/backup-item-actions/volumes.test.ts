import { dataVolumeBackupAction } from '../../../src/backup-item-actions/datavolume';
import { pvcBackupAction } from '../../../src/backup-item-actions/pvc';
import { volumeSnapshotBackupAction } from '../../../src/backup-item-actions/volumesnapshot';
import type { ClusterReader } from '../../../src/cluster/reader';
import { StaticCluster } from '../../support/static-cluster';
import { annotationsOf, labelsOf, nameOf, type KubeObject } from '../../../src/kube/object';
import { annotate, find, forbiddenCluster, label, makeBackup, refusal, runBackup, setPath, wire, world } from './helpers';
import { selectorOf } from '../../../src/plugin/adapter';

const PRE_POPULATED = 'cdi.kubevirt.io/storage.prePopulated';
const POPULATED_FOR = 'cdi.kubevirt.io/storage.populatedFor';
const IN_PROGRESS = 'kvp.kubevirt.io/storage.inprogress';
const PVC_UID = 'velero.kubevirt.io/pvc-uid';
const ORIGINAL_PVC_UID = 'velero.kubevirt.io/original-pvc-uid';
const ORIGINAL_VS_UID = 'velero.kubevirt.io/original-volumesnapshot-uid';

describe('DataVolume backup action (upstream TestDV / TestPVC / TestUnfinishedPVC)', () => {
    const objects = (): KubeObject[] => world('storage.yaml', 'dv-unfinished.yaml');

    it('DV should request PVC to be backed up as well, and be marked prePopulated', async () => {
        const o = objects();
        const { out, item } = await runBackup(dataVolumeBackupAction, find(o, 'DataVolume', 'test-dv'), makeBackup(), o);
        expect(wire(out.additionalItems)).toEqual([{ group: '', resource: 'persistentvolumeclaims', namespace: 'kvp-ns', name: 'test-dv' }]);
        expect(annotationsOf(item)).toEqual({ [PRE_POPULATED]: 'test-dv' });
    });

    it('unfinished DV is backed up unchanged without its PVC', async () => {
        const o = objects();
        const { out } = await runBackup(dataVolumeBackupAction, find(o, 'DataVolume', 'import-dv'), makeBackup(), o);
        expect(out).toEqual({ additionalItems: [] });
    });

    test.each<[string, string, (o: KubeObject[]) => void, Record<string, string>]>([
        ['Adds AnnPopulatedFor when owned by a DV', 'test-dv', () => undefined, { [POPULATED_FOR]: 'test-dv' }],
        ['Does not add AnnPopulatedFor when not owned by a DV', 'test-pvc', () => undefined, {}],
        ['Adds AnnInProgress when owned by an unfinished DV', 'import-dv', () => undefined, { [IN_PROGRESS]: 'import-dv' }],
        [
            'uses the live DataVolume phase',
            'import-dv',
            (o) => void setPath(find(o, 'DataVolume', 'import-dv'), ['status', 'phase'], 'Succeeded'),
            { [POPULATED_FOR]: 'import-dv' },
        ],
        [
            'ignores a DataVolume owner of another API group (upstream did not check)',
            'test-dv',
            (o) => void setPath(find(o, 'PersistentVolumeClaim', 'test-dv'), ['metadata', 'ownerReferences', 0, 'apiVersion'], 'example.com/v1'),
            {},
        ],
    ])('%s', async (_name, pvcName, change, annotations) => {
        const o = objects();
        change(o);
        const { out, item } = await runBackup(dataVolumeBackupAction, find(o, 'PersistentVolumeClaim', pvcName), makeBackup(), o);
        expect(annotationsOf(item)).toEqual(annotations);
        expect(wire(out.additionalItems)).toEqual([]);
        if (Object.keys(annotations).length === 0) expect(out.item).toBeUndefined();
    });

    it('PVC whose owning DataVolume is gone passes unchanged with a warning (upstream failed the item)', async () => {
        const o = objects().filter((x) => !(x.kind === 'DataVolume' && nameOf(x) === 'test-dv'));
        const { out, log } = await runBackup(dataVolumeBackupAction, find(o, 'PersistentVolumeClaim', 'test-dv'), makeBackup(), o);
        expect(out).toEqual({ additionalItems: [] });
        expect(log.at('warn')).toEqual(['DataVolume kvp-ns/test-dv owning PVC test-dv not found; PVC left unchanged']);
    });

    test.each<[string, KubeObject]>([
        ['another kind', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'kvp-ns' } }],
        ['a DataVolume of another API group', { apiVersion: 'example.com/v1', kind: 'DataVolume', metadata: { name: 'd', namespace: 'kvp-ns' }, status: { phase: 'Succeeded' } }],
    ])('passes %s through unchanged', async (_name, item) => {
        const { out } = await runBackup(dataVolumeBackupAction, item, makeBackup());
        expect(out).toEqual({ additionalItems: [] });
    });

    test.each<[string, KubeObject, string]>([
        ['PVC without a name', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: {} }, 'InvalidItem: metadata.name is missing'],
        ['DataVolume without metadata', { apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', status: { phase: 'Succeeded' } }, 'InvalidItem: metadata is missing'],
    ])('bad input: %s', async (_name, item, expected) => {
        expect(await refusal(dataVolumeBackupAction, item, makeBackup())).toBe(expected);
    });

    it('an empty Backup object is an input error with the upstream text', async () => {
        expect(await refusal(dataVolumeBackupAction, find(objects(), 'DataVolume', 'test-dv'), {})).toBe('InvalidItem: backup object nil!: the request carried no Backup object');
    });

    it('a cluster error propagates unchanged', async () => {
        await expect(runBackup(dataVolumeBackupAction, find(objects(), 'PersistentVolumeClaim', 'test-dv'), makeBackup(), forbiddenCluster)).rejects.toMatchObject({
            reason: 'Forbidden',
        });
    });

    it('keeps the upstream name and applies to PVCs and CDI DataVolumes', () => {
        expect(dataVolumeBackupAction.name).toBe('kubevirt-velero-plugin/backup-datavolume-action');
        expect(selectorOf(dataVolumeBackupAction.appliesTo)).toEqual({ includedResources: ['persistentvolumeclaims', 'datavolumes.cdi.kubevirt.io'] });
    });
});

describe('PVC backup action (upstream TestPVCBackupExecute)', () => {
    const base = (): KubeObject => find(world('storage.yaml'), 'PersistentVolumeClaim', 'test-pvc');
    const UID = '7c1c5d8e-0000-4000-8000-00000000c002';
    test.each<[string, (p: KubeObject) => void, Record<string, string>, Record<string, string>]>([
        ['PVC without labels gets the pvc-uid label', () => undefined, { [PVC_UID]: UID }, {}],
        ['PVC with labels keeps them and gets the pvc-uid label', (p) => void label(p, 'app', 'demo'), { app: 'demo', [PVC_UID]: UID }, {}],
        ['a colliding pvc-uid label is preserved in an annotation', (p) => void label(p, PVC_UID, 'user-value'), { [PVC_UID]: UID }, { [ORIGINAL_PVC_UID]: 'user-value' }],
        [
            'collision with existing annotations keeps them',
            (p) => {
                label(p, PVC_UID, 'user-value');
                annotate(p, 'note', 'x');
            },
            { [PVC_UID]: UID },
            { note: 'x', [ORIGINAL_PVC_UID]: 'user-value' },
        ],
        ['a label equal to the UID is preserved anyway', (p) => void label(p, PVC_UID, UID), { [PVC_UID]: UID }, { [ORIGINAL_PVC_UID]: UID }],
    ])('%s', async (_name, change, labels, annotations) => {
        const p = base();
        change(p);
        const { item, out } = await runBackup(pvcBackupAction, p, makeBackup());
        expect(labelsOf(item)).toEqual(labels);
        expect(annotationsOf(item)).toEqual(annotations);
        expect(wire(out.additionalItems)).toEqual([]);
    });

    it('Skip PVC with empty UID', async () => {
        const { out } = await runBackup(pvcBackupAction, setPath(base(), ['metadata', 'uid'], ''), makeBackup());
        expect(out).toEqual({ additionalItems: [] });
    });

    it('needs no Backup object (upstream has no nil check)', async () => {
        const { item } = await runBackup(pvcBackupAction, base(), {});
        expect(labelsOf(item)).toEqual({ [PVC_UID]: UID });
    });

    it('refuses another kind', async () => {
        expect(await refusal(pvcBackupAction, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }, makeBackup())).toBe(
            'InvalidItem: expected a PersistentVolumeClaim, got kind "Pod"',
        );
    });

    it('keeps the upstream name and applies to PVCs', () => {
        expect(pvcBackupAction.name).toBe('kubevirt-velero-plugin/backup-pvc-action');
        expect(selectorOf(pvcBackupAction.appliesTo)).toEqual({ includedResources: ['persistentvolumeclaims'] });
    });
});

describe('VolumeSnapshot backup action (upstream TestVolumeSnapshotBackupExecute)', () => {
    const UID = '7c1c5d8e-0000-4000-8000-00000000c002';
    const objects = (): KubeObject[] => world('volumesnapshots.yaml', 'storage.yaml');
    const snap = (o: KubeObject[]): KubeObject => find(o, 'VolumeSnapshot', 'velero-test-pvc-8xk2m');

    it('VolumeSnapshot without PVC source should be skipped', async () => {
        const o = objects();
        const { out } = await runBackup(volumeSnapshotBackupAction, find(o, 'VolumeSnapshot', 'preprovisioned-snap'), makeBackup(), o);
        expect(out).toEqual({ additionalItems: [] });
    });

    test.each<[string, (o: KubeObject[]) => void, Record<string, string>, Record<string, string>]>([
        ['Add PVC UID label', (o) => void setPath(snap(o), ['metadata', 'labels'], undefined), { [PVC_UID]: UID }, {}],
        ['Handle VolumeSnapshot with existing labels but no collision', () => undefined, { 'velero.io/backup-name': 'b1', [PVC_UID]: UID }, {}],
        [
            'Preserve existing PVC UID label in annotation when collision occurs',
            (o) => void label(snap(o), PVC_UID, 'old-uid'),
            { 'velero.io/backup-name': 'b1', [PVC_UID]: UID },
            { [ORIGINAL_VS_UID]: 'old-uid' },
        ],
    ])('%s', async (_name, change, labels, annotations) => {
        const o = objects();
        change(o);
        const { item } = await runBackup(volumeSnapshotBackupAction, snap(o), makeBackup(), o);
        expect(labelsOf(item)).toEqual(labels);
        expect(annotationsOf(item)).toEqual(annotations);
    });

    it('Skip when PVC UID is empty', async () => {
        const o = objects();
        setPath(find(o, 'PersistentVolumeClaim', 'test-pvc'), ['metadata', 'uid'], '');
        const { out } = await runBackup(volumeSnapshotBackupAction, snap(o), makeBackup(), o);
        expect(out).toEqual({ additionalItems: [] });
    });

    it('VolumeSnapshot whose PVC is gone passes with a warning (upstream failed the item)', async () => {
        const o = objects().filter((x) => x.kind !== 'PersistentVolumeClaim');
        const { out, log } = await runBackup(volumeSnapshotBackupAction, snap(o), makeBackup(), o);
        expect(out).toEqual({ additionalItems: [] });
        expect(log.at('warn')).toEqual(['PVC test-pvc not found in namespace kvp-ns; VolumeSnapshot kvp-ns/velero-test-pvc-8xk2m left without velero.kubevirt.io/pvc-uid label']);
    });

    it('a PVC created after an earlier lookup in the namespace is found (no stale namespace cache)', async () => {
        const o = objects();
        const live: KubeObject[] = o.filter((x) => x.kind !== 'PersistentVolumeClaim');
        const cluster: ClusterReader = {
            get: (r, ns, name) => new StaticCluster(live).get(r, ns, name),
            list: (r, ns) => new StaticCluster(live).list(r, ns),
        };
        const first = await runBackup(volumeSnapshotBackupAction, snap(o), makeBackup(), cluster);
        expect(first.out.item).toBeUndefined();
        live.push(find(o, 'PersistentVolumeClaim', 'test-pvc'));
        const second = await runBackup(volumeSnapshotBackupAction, snap(o), makeBackup(), cluster);
        expect(labelsOf(second.item)[PVC_UID]).toBe(UID);
    });

    test.each<[string, KubeObject, string]>([
        ['wrong kind', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'x' } }, 'InvalidItem: expected a VolumeSnapshot, got kind "PersistentVolumeClaim"'],
        ['missing metadata', { apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', spec: null }, 'InvalidItem: metadata is missing'],
    ])('bad input: %s', async (_name, item, expected) => {
        expect(await refusal(volumeSnapshotBackupAction, item, makeBackup())).toBe(expected);
    });

    it('a VolumeSnapshot with spec null is unchanged', async () => {
        const { out } = await runBackup(volumeSnapshotBackupAction, setPath(snap(objects()), ['spec'], null), makeBackup());
        expect(out).toEqual({ additionalItems: [] });
    });

    it('an empty Backup object is an input error with the upstream text', async () => {
        expect(await refusal(volumeSnapshotBackupAction, snap(objects()), {})).toBe('InvalidItem: backup object nil!: the request carried no Backup object');
    });

    it('a cluster error propagates unchanged', async () => {
        await expect(runBackup(volumeSnapshotBackupAction, snap(objects()), makeBackup(), forbiddenCluster)).rejects.toMatchObject({ reason: 'Forbidden' });
    });

    it('keeps the upstream name and applies to snapshot.storage.k8s.io VolumeSnapshots', () => {
        expect(volumeSnapshotBackupAction.name).toBe('kubevirt-velero-plugin/backup-volumesnapshot-action');
        expect(selectorOf(volumeSnapshotBackupAction.appliesTo)).toEqual({ includedResources: ['volumesnapshots.snapshot.storage.k8s.io'] });
    });
});
