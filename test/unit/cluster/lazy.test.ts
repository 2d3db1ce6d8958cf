import { KubeCluster } from '../../../src/cluster/kube';
import { lazyCluster } from '../../../src/cluster/lazy';
import { processRequestCounter, requestStats, resetRequestStats } from '../../../src/cluster/stats';
import { R } from '../../../src/kube/resources';
import { Logger } from '../../../src/logging/logger';
import { FakeApiServer } from './fake-apiserver';
import { closeReaders, harness } from './harness';

const log = new Logger('error', () => undefined);

describe('the process-wide reader', () => {
    it.each([
        {
            name: 'one provider called twice',
            providers: () => {
                const p = lazyCluster(log);
                return [p, p];
            },
        },
        { name: 'two providers', providers: () => [lazyCluster(log), lazyCluster(log)] },
    ])('$name return the same KubeCluster', ({ providers }) => {
        const [a, b] = providers();
        expect(a?.()).toBeInstanceOf(KubeCluster);
        expect(a?.()).toBe(b?.());
    });
});

describe('process-wide request counting', () => {
    it('a reader without its own counter records into requestStats(), and resetRequestStats() clears it', async () => {
        const server = await FakeApiServer.start();
        try {
            resetRequestStats();
            const h = harness(server.url, { counter: processRequestCounter });
            await h.reader.list(R.vms, 'ns1');
            expect(requestStats().byKey.map(({ verb, resource, namespace, count }) => ({ verb, resource, namespace, count }))).toEqual([
                { verb: 'list', resource: 'virtualmachines.kubevirt.io', namespace: 'ns1', count: 1 },
            ]);
            resetRequestStats();
            expect(requestStats().total).toEqual({ count: 0, bytes: 0 });
        } finally {
            closeReaders();
            await server.close();
        }
    });
});
