import { formatRequestStats, RequestCounter } from '../../../src/cluster/stats';

describe('request counter', () => {
    it('groups attempts by verb, resource and namespace, in a stable order', () => {
        const counter = new RequestCounter();
        counter.record('list', 'pods', 'ns1', 503, 10);
        counter.record('get', 'datavolumes.cdi.kubevirt.io', 'ns1', 200, 100);
        counter.record('list', 'pods', 'ns1', 200, 1000);
        counter.record('list', 'pods', '', 'ECONNRESET', 0);
        expect(counter.snapshot()).toEqual({
            byKey: [
                { verb: 'get', resource: 'datavolumes.cdi.kubevirt.io', namespace: 'ns1', count: 1, bytes: 100, statuses: { '200': 1 } },
                { verb: 'list', resource: 'pods', namespace: '', count: 1, bytes: 0, statuses: { ECONNRESET: 1 } },
                { verb: 'list', resource: 'pods', namespace: 'ns1', count: 2, bytes: 1010, statuses: { '200': 1, '503': 1 } },
            ],
            total: { count: 4, bytes: 1110 },
        });
    });

    it('a snapshot does not change when counting goes on, and reset empties the counter', () => {
        const counter = new RequestCounter();
        counter.record('get', 'pods', 'ns1', 200, 5);
        const before = counter.snapshot();
        counter.record('get', 'pods', 'ns1', 200, 5);
        expect(before.total).toEqual({ count: 1, bytes: 5 });
        counter.reset();
        expect(counter.snapshot()).toEqual({ byKey: [], total: { count: 0, bytes: 0 } });
    });

    it('prints a table for benchmarks', () => {
        const counter = new RequestCounter();
        counter.record('list', 'pods', 'ns1', 200, 52_000);
        counter.record('get', 'datavolumes.cdi.kubevirt.io', 'ns1', 404, 180);
        counter.record('list', 'virtualmachineclusterinstancetypes.instancetype.kubevirt.io', '', 200, 900);
        expect(formatRequestStats(counter.snapshot()).split('\n')).toEqual([
            'VERB   RESOURCE                                                     NAMESPACE  REQUESTS  BYTES  STATUSES',
            'GET    datavolumes.cdi.kubevirt.io                                  ns1        1         180    404x1',
            'LIST   pods                                                         ns1        1         52000  200x1',
            'LIST   virtualmachineclusterinstancetypes.instancetype.kubevirt.io  *          1         900    200x1',
            'TOTAL                                                                          3         53080',
        ]);
    });
});
