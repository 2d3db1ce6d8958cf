import { veleroNamespace } from '../../../src/plugin/options';
import { loadStorageClassMap } from '../../../src/restore-item-actions/storageclass';
import { fixtures, RecordingCluster } from './helpers';

describe('change-storage-class ConfigMap', () => {
    it.each([
        [{}, 'velero'],
        [{ VELERO_NAMESPACE: 'openshift-adp' }, 'openshift-adp'],
        [{ VELERO_NAMESPACE: ' ' }, 'velero'],
    ])('the Velero namespace for env %o is %s', (env, expected) => {
        expect(veleroNamespace(env)).toBe(expected);
    });

    it('only the ConfigMap with both labels (plugin-config present, change-storage-class=RestoreItemAction) is used', async () => {
        const map = await loadStorageClassMap(new RecordingCluster(fixtures('configmaps.yaml')), 'velero');
        expect(map?.source).toBe('velero/change-sc');
        expect([...(map?.data ?? [])]).toEqual([
            ['fast', 'fast-b'],
            ['slow', 'slow-b'],
            ['local', 'local'],
        ]);
    });

    it('no ConfigMap: no map', async () => {
        expect(await loadStorageClassMap(new RecordingCluster(), 'velero')).toBeUndefined();
    });
});
