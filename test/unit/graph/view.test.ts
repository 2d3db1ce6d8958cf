/** loadView lists each needed resource once per namespace; viewOf indexes objects by group, resource, namespace. */
import type { ClusterReader } from '../../../src/cluster/reader';
import { StaticCluster } from '../../support/static-cluster';
import { loadView } from '../../../src/cluster/view';
import { viewOf } from '../../support/static-cluster';
import { GRAPH_NEEDS, vmBackupGraph } from '../../../src/graph';
import { nameOf, type KubeObject } from '../../../src/kube/object';
import { R, type GroupResource } from '../../../src/kube/resources';
import { loadFixtures } from '../fixtures';
import { keys, scenario } from './helpers';

class CountingCluster implements ClusterReader {
    readonly calls: string[] = [];
    constructor(private readonly inner: ClusterReader) {}
    async get(resource: GroupResource, namespace: string, name: string): Promise<KubeObject | undefined> {
        this.calls.push(`GET ${resource.resource} ${namespace}/${name}`);
        return this.inner.get(resource, namespace, name);
    }
    async list(resource: GroupResource, namespace: string): Promise<readonly KubeObject[]> {
        this.calls.push(`LIST ${resource.resource} ${namespace}`);
        return this.inner.list(resource, namespace);
    }
}

const objects = loadFixtures('graph/vm-running.yaml');

describe('loadView', () => {
    it('lists every needed resource exactly once, in the item namespace, and never GETs', async () => {
        const cluster = new CountingCluster(new StaticCluster(objects));
        await loadView(cluster, 'kvp-vm', [...GRAPH_NEEDS, R.pods, R.pvcs]);
        expect(cluster.calls).toEqual(['LIST pods kvp-vm', 'LIST persistentvolumeclaims kvp-vm', 'LIST virtualmachineinstances kvp-vm']);
    });

    it('lists cluster-scoped resources with namespace ""', async () => {
        const cluster = new CountingCluster(new StaticCluster([]));
        await loadView(cluster, 'kvp-vm', [R.clusterInstancetypes]);
        expect(cluster.calls).toEqual(['LIST virtualmachineclusterinstancetypes ']);
    });

    it('gives the graph the same answer as an in-memory view of the namespace', async () => {
        const loaded = await loadView(new StaticCluster(objects), 'kvp-vm', GRAPH_NEEDS);
        const s = scenario('vm-running.yaml');
        const web = s.item('VirtualMachine/web');
        expect(keys(vmBackupGraph(web, loaded))).toEqual(keys(vmBackupGraph(web, s.view)));
    });

    it.each([
        ['a needed resource', R.pods, 'kvp-vm', 6],
        ['another namespace', R.pods, 'elsewhere', 0],
        ['a resource not needed', R.secrets, 'kvp-vm', 0],
    ])('reads %s', async (_name, resource, namespace, count) => {
        const loaded = await loadView(new StaticCluster(objects), 'kvp-vm', GRAPH_NEEDS);
        expect(loaded.list(resource, namespace)).toHaveLength(count);
    });

    it('propagates reader errors', async () => {
        const failing: ClusterReader = {
            get: async () => undefined,
            list: async () => {
                throw new Error('pods is forbidden');
            },
        };
        await expect(loadView(failing, 'kvp-vm', [R.pods])).rejects.toThrow('pods is forbidden');
    });
});

describe('viewOf', () => {
    const view = viewOf(objects);
    it.each([
        [R.vmis, 'kvp-vm', 'web', true],
        [R.vmis, 'other', 'web', false],
        [R.vms, 'kvp-vm', 'web', true],
        [R.pvcs, 'kvp-vm', 'web-data', true],
        [R.dataVolumes, 'kvp-vm', 'web-data', false],
        [R.pods, 'kvp-vm', 'hp-volume-web-7hd2k', true],
    ])('get(%j, %s, %s) found = %s', (resource, namespace, name, found) => {
        expect(view.get(resource, namespace, name) !== undefined).toBe(found);
    });

    it('lists in input order', () => {
        expect(view.list(R.vms, 'kvp-vm').map(nameOf)).toEqual(['web', 'orphan', 'stopped']);
    });

    it('indexes NetworkAttachmentDefinitions under network-attachment-definitions', () => {
        const nad: KubeObject = {
            apiVersion: 'k8s.cni.cncf.io/v1',
            kind: 'NetworkAttachmentDefinition',
            metadata: { name: 'web-net', namespace: 'kvp-vm' },
        };
        expect(viewOf([nad]).get(R.networkAttachmentDefinitions, 'kvp-vm', 'web-net')).toBe(nad);
    });
});
