/**
 * The cluster reader against a fake API server on 127.0.0.1: statuses, retries, deadlines, caches,
 * request paths, TLS and credentials, logging and request counting, all through real HTTP.
 */
import { gzipSync } from 'node:zlib';
import { apiPath } from '../../../src/cluster/kube';
import { PluginError } from '../../../src/errors';
import type { KubeObject } from '../../../src/kube/object';
import { R, type GroupResource } from '../../../src/kube/resources';
import { loadFixtures } from '../fixtures';
import { FAKE_CA_FILE, FakeApiServer, objectNotFound, statusBody, type Reply } from './fake-apiserver';
import { closeReaders, harness, rejection } from './harness';

const OBJECTS = loadFixtures('cluster/objects.yaml');
const POD_A = OBJECTS[0] as KubeObject;
const POD_A_PATH = '/api/v1/namespaces/ns1/pods/virt-launcher-vm-a-x1';
const PODS_NS1 = '/api/v1/namespaces/ns1/pods';
const PVCS_NS = '/api/v1/namespaces/ns/persistentvolumeclaims';

const ok = (body: unknown): Reply => ({ status: 200, body });
const failure = (status: number, reason: string, message: string, headers?: Record<string, string>): Reply => ({
    status,
    body: statusBody(status, reason, message),
    ...(headers ? { headers } : {}),
});

let server: FakeApiServer;
const savedKubeconfig = process.env['KUBECONFIG'];

beforeEach(async () => {
    server = await FakeApiServer.start({ objects: OBJECTS });
});

afterEach(async () => {
    closeReaders();
    await server.close();
});

afterAll(() => {
    if (savedKubeconfig === undefined) delete process.env['KUBECONFIG'];
    else process.env['KUBECONFIG'] = savedKubeconfig;
});

const FORBIDDEN_GET = 'pods "virt-launcher-vm-a-x1" is forbidden: User "system:serviceaccount:velero:velero" cannot get resource "pods" in API group "" in the namespace "ns1"';

interface GetCase {
    name: string;
    replies: Reply[];
    value?: KubeObject | undefined;
    error?: { reason: string; detail: string };
    attempts: number;
    sleeps: number[];
}

const getCases: GetCase[] = [
    { name: 'an object is returned as the server sent it', replies: [ok(POD_A)], value: POD_A, attempts: 1, sleeps: [] },
    {
        name: 'NotFound naming the object is a value (undefined), not an error',
        replies: [{ status: 404, body: objectNotFound(R.pods, 'virt-launcher-vm-a-x1') }],
        value: undefined,
        attempts: 1,
        sleeps: [],
    },
    {
        name: '503 is retried with exponential backoff until it succeeds',
        replies: [failure(503, 'ServiceUnavailable', 'unavailable'), failure(503, 'ServiceUnavailable', 'unavailable'), ok(POD_A)],
        value: POD_A,
        attempts: 3,
        sleeps: [200, 400],
    },
    {
        name: '429 waits as long as Retry-After says',
        replies: [failure(429, 'TooManyRequests', 'too many requests', { 'Retry-After': '1' }), ok(POD_A)],
        value: POD_A,
        attempts: 2,
        sleeps: [1000],
    },
    {
        name: '429 with a Retry-After above the cap waits the cap',
        replies: [failure(429, 'TooManyRequests', 'too many requests', { 'Retry-After': '30' }), ok(POD_A)],
        value: POD_A,
        attempts: 2,
        sleeps: [2000],
    },
    {
        name: 'a reset connection is retried',
        replies: [{ reset: true }, ok(POD_A)],
        value: POD_A,
        attempts: 2,
        sleeps: [200],
    },
    {
        name: 'a persistent 500 gives up after 4 attempts with a Cluster error',
        replies: [failure(500, 'InternalError', 'etcdserver: request timed out')],
        error: {
            reason: 'Cluster',
            detail: 'cannot get pods "virt-launcher-vm-a-x1" in namespace "ns1" (HTTP 500, 4 attempts): etcdserver: request timed out',
        },
        attempts: 4,
        sleeps: [200, 400, 800],
    },
    {
        name: 'a 502 body that is not a Status is never quoted',
        replies: [{ status: 502, body: '<html>bad gateway: token=abc</html>' }],
        error: { reason: 'Cluster', detail: 'cannot get pods "virt-launcher-vm-a-x1" in namespace "ns1" (HTTP 502, 4 attempts)' },
        attempts: 4,
        sleeps: [200, 400, 800],
    },
    {
        name: '403 is not retried and names verb, resource and namespace',
        replies: [failure(403, 'Forbidden', FORBIDDEN_GET)],
        error: {
            reason: 'Forbidden',
            detail: `forbidden: cannot get pods "virt-launcher-vm-a-x1" in namespace "ns1" (HTTP 403): ${FORBIDDEN_GET}; grant the plugin's identity "get" on pods (see manifests/rbac)`,
        },
        attempts: 1,
        sleeps: [],
    },
    {
        name: '401 is not retried and points at the credentials',
        replies: [failure(401, 'Unauthorized', 'Unauthorized')],
        error: {
            reason: 'Forbidden',
            detail: 'unauthorized: cannot get pods "virt-launcher-vm-a-x1" in namespace "ns1" (HTTP 401): Unauthorized; check the plugin\'s credentials (service account token or kubeconfig user)',
        },
        attempts: 1,
        sleeps: [],
    },
    {
        name: '400 is not retried',
        replies: [failure(400, 'BadRequest', 'the server rejected our request')],
        error: { reason: 'Cluster', detail: 'cannot get pods "virt-launcher-vm-a-x1" in namespace "ns1" (HTTP 400): the server rejected our request' },
        attempts: 1,
        sleeps: [],
    },
    {
        name: 'a 200 that is not JSON is a Cluster error that describes the body without quoting it',
        replies: [{ status: 200, body: 'this is not json: token=abc' }],
        error: {
            reason: 'Cluster',
            detail: 'cannot get pods "virt-launcher-vm-a-x1" in namespace "ns1" (HTTP 200): the response is not JSON (Content-Type application/json, 27 bytes)',
        },
        attempts: 1,
        sleeps: [],
    },
    {
        name: 'a 404 that does not name the object (the path is not served) is an error for a built-in resource',
        replies: [failure(404, 'NotFound', 'the server could not find the requested resource')],
        error: {
            reason: 'Cluster',
            detail: 'cannot get pods "virt-launcher-vm-a-x1" in namespace "ns1" (HTTP 404): the server could not find the requested resource; pods is served by every API server, so the request did not reach one: check the server URL and path prefix of the Kubernetes configuration and any proxy in between',
        },
        attempts: 1,
        sleeps: [],
    },
];

describe('GET statuses, retries and errors', () => {
    it.each(getCases)('$name', async ({ replies, value, error, attempts, sleeps }) => {
        server.reply(POD_A_PATH, ...replies);
        const h = harness(server.url);
        const result = h.reader.get(R.pods, 'ns1', 'virt-launcher-vm-a-x1');
        if (error) {
            const thrown = await rejection(result);
            expect(thrown).toBeInstanceOf(PluginError);
            expect({ reason: (thrown as PluginError).reason, detail: (thrown as PluginError).detail }).toEqual(error);
        } else {
            expect(await result).toEqual(value);
        }
        expect(server.requestsTo(POD_A_PATH)).toBe(attempts);
        expect(h.counter.snapshot().total.count).toBe(attempts);
        expect(h.sleeps).toEqual(sleeps);
    });
});

interface ListCase {
    name: string;
    setup?: (fake: FakeApiServer) => void;
    resource: GroupResource;
    namespace: string;
    path: string;
    replies: Reply[];
    items?: string[];
    error?: { reason: string; detail: string };
    /** Discovery requests made after the LIST. */
    extraRequests?: string[];
}

const FORBIDDEN_LIST =
    'persistentvolumeclaims is forbidden: User "system:serviceaccount:velero:velero" cannot list resource "persistentvolumeclaims" in API group "" in the namespace "ns"';

const listCases: ListCase[] = [
    {
        name: 'a LIST returns the items of the namespace',
        resource: R.pods,
        namespace: 'ns1',
        path: PODS_NS1,
        replies: [],
        items: ['virt-launcher-vm-a-x1', 'virt-launcher-vm-b-y2'],
    },
    {
        name: 'namespace "" lists all namespaces',
        resource: R.pods,
        namespace: '',
        path: '/api/v1/pods',
        replies: [],
        items: ['virt-launcher-vm-a-x1', 'virt-launcher-vm-b-y2', 'virt-launcher-vm-c-z3'],
    },
    {
        name: 'a served resource without objects in the namespace lists as empty',
        resource: R.pods,
        namespace: 'empty',
        path: '/api/v1/namespaces/empty/pods',
        replies: [],
        items: [],
    },
    {
        name: 'a custom resource that is not installed (404, discovery agrees) lists as empty',
        setup: (fake) => fake.uninstall(R.networkAttachmentDefinitions),
        resource: R.networkAttachmentDefinitions,
        namespace: 'ns1',
        path: '/apis/k8s.cni.cncf.io/v1/namespaces/ns1/network-attachment-definitions',
        replies: [],
        items: [],
        extraRequests: ['/apis/k8s.cni.cncf.io/v1', '/apis'],
    },
    {
        name: 'a custom resource whose group serves other resources but not this one lists as empty',
        setup: (fake) => fake.uninstall(R.vmirs),
        resource: R.vmirs,
        namespace: 'ns1',
        path: '/apis/kubevirt.io/v1/namespaces/ns1/virtualmachineinstancereplicasets',
        replies: [],
        items: [],
        extraRequests: ['/apis/kubevirt.io/v1'],
    },
    {
        name: 'a 404 on LIST of a built-in resource is an error, not "no objects"',
        resource: R.pods,
        namespace: 'ns1',
        path: PODS_NS1,
        replies: [failure(404, 'NotFound', 'the server could not find the requested resource')],
        error: {
            reason: 'Cluster',
            detail: 'cannot list pods in namespace "ns1" (HTTP 404): the server could not find the requested resource; pods is served by every API server, so the request did not reach one: check the server URL and path prefix of the Kubernetes configuration and any proxy in between',
        },
    },
    {
        name: 'a 404 from a proxy (an HTML page) on LIST of PVCs is an error',
        resource: R.pvcs,
        namespace: 'ns',
        path: PVCS_NS,
        replies: [{ status: 404, body: '<html>Not Found</html>', headers: { 'Content-Type': 'text/html' } }],
        error: {
            reason: 'Cluster',
            detail: 'cannot list persistentvolumeclaims in namespace "ns" (HTTP 404); persistentvolumeclaims is served by every API server, so the request did not reach one: check the server URL and path prefix of the Kubernetes configuration and any proxy in between',
        },
    },
    {
        name: 'a 404 on LIST of a custom resource that discovery lists is an error',
        resource: R.dataVolumes,
        namespace: 'ns1',
        path: '/apis/cdi.kubevirt.io/v1beta1/namespaces/ns1/datavolumes',
        replies: [failure(404, 'NotFound', 'the server could not find the requested resource')],
        error: {
            reason: 'Cluster',
            detail: 'cannot list datavolumes.cdi.kubevirt.io in namespace "ns1" (HTTP 404): the server could not find the requested resource; the API server\'s discovery lists datavolumes.cdi.kubevirt.io (cdi.kubevirt.io/v1beta1), so the request did not reach it as sent: check the path prefix of the server URL and any proxy in between',
        },
        extraRequests: ['/apis/cdi.kubevirt.io/v1beta1'],
    },
    {
        name: 'a 404 on LIST of a custom resource is an error when discovery is not answered either',
        setup: (fake) => {
            fake.reply('/apis', failure(404, 'NotFound', 'the server could not find the requested resource'));
            fake.reply('/apis/cdi.kubevirt.io/v1beta1', failure(404, 'NotFound', 'the server could not find the requested resource'));
        },
        resource: R.dataVolumes,
        namespace: 'ns1',
        path: '/apis/cdi.kubevirt.io/v1beta1/namespaces/ns1/datavolumes',
        replies: [failure(404, 'NotFound', 'the server could not find the requested resource')],
        error: {
            reason: 'Cluster',
            detail: 'cannot discover datavolumes.cdi.kubevirt.io (GET /apis) (HTTP 404): the server does not answer API discovery, so it is not an API server as addressed: check the server URL and path prefix of the Kubernetes configuration and any proxy in between',
        },
        extraRequests: ['/apis/cdi.kubevirt.io/v1beta1', '/apis'],
    },
    {
        name: 'a forbidden LIST names verb, resource and namespace',
        resource: R.pvcs,
        namespace: 'ns',
        path: PVCS_NS,
        replies: [failure(403, 'Forbidden', FORBIDDEN_LIST)],
        error: {
            reason: 'Forbidden',
            detail: `forbidden: cannot list persistentvolumeclaims in namespace "ns" (HTTP 403): ${FORBIDDEN_LIST}; grant the plugin's identity "list" on persistentvolumeclaims (see manifests/rbac)`,
        },
    },
    {
        name: 'a forbidden LIST of a custom resource across namespaces names the group',
        resource: R.dataVolumes,
        namespace: '',
        path: '/apis/cdi.kubevirt.io/v1beta1/datavolumes',
        replies: [failure(403, 'Forbidden', 'nope')],
        error: {
            reason: 'Forbidden',
            detail: 'forbidden: cannot list datavolumes.cdi.kubevirt.io in all namespaces (HTTP 403): nope; grant the plugin\'s identity "list" on datavolumes.cdi.kubevirt.io (see manifests/rbac)',
        },
    },
    {
        name: 'a forbidden LIST of a cluster-scoped resource names no namespace',
        resource: R.clusterInstancetypes,
        namespace: '',
        path: '/apis/instancetype.kubevirt.io/v1beta1/virtualmachineclusterinstancetypes',
        replies: [failure(403, 'Forbidden', 'nope')],
        error: {
            reason: 'Forbidden',
            detail: 'forbidden: cannot list virtualmachineclusterinstancetypes.instancetype.kubevirt.io (HTTP 403): nope; grant the plugin\'s identity "list" on virtualmachineclusterinstancetypes.instancetype.kubevirt.io (see manifests/rbac)',
        },
    },
    {
        name: 'a 200 that is not a list is a Cluster error',
        resource: R.pods,
        namespace: 'ns1',
        path: PODS_NS1,
        replies: [ok({ kind: 'Status' })],
        error: { reason: 'Cluster', detail: 'cannot list pods in namespace "ns1" (HTTP 200): the response is not a list' },
    },
];

describe('LIST statuses and errors', () => {
    it.each(listCases)('$name', async ({ setup, resource, namespace, path, replies, items, error, extraRequests }) => {
        setup?.(server);
        if (replies.length > 0) server.reply(path, ...replies);
        const h = harness(server.url);
        const result = h.reader.list(resource, namespace);
        if (error) {
            const thrown = (await rejection(result)) as PluginError;
            expect({ reason: thrown.reason, detail: thrown.detail }).toEqual(error);
        } else {
            expect((await result).map((o) => o.metadata?.name)).toEqual(items);
        }
        expect(server.seen.map((r) => r.path)).toEqual([path, ...(extraRequests ?? [])]);
    });

    it('a custom resource that is not installed is warned about once per process and not asked again', async () => {
        server.uninstall(R.dataVolumes);
        const h = harness(server.url);
        expect(await h.reader.list(R.dataVolumes, 'ns1')).toEqual([]);
        expect(await h.reader.list(R.dataVolumes, 'ns2')).toEqual([]);
        expect(await h.reader.get(R.dataVolumes, 'ns2', 'dv')).toBeUndefined();
        expect(server.seen.map((r) => r.path)).toEqual(['/apis/cdi.kubevirt.io/v1beta1/namespaces/ns1/datavolumes', '/apis/cdi.kubevirt.io/v1beta1', '/apis']);
        expect(h.logs.filter((l) => l['@level'] === 'warn').map((l) => l['@message'])).toEqual([
            'datavolumes.cdi.kubevirt.io is not installed in the cluster (the API server does not serve cdi.kubevirt.io/v1beta1): reading it as no objects',
        ]);
    });
});

describe('deadlines and connection failures', () => {
    it('a request with no answer before the deadline is abandoned and retried', async () => {
        server.reply(POD_A_PATH, { hang: true });
        const h = harness(server.url, { timeoutMs: 100, retry: { attempts: 2 } });
        const thrown = (await rejection(h.reader.get(R.pods, 'ns1', 'virt-launcher-vm-a-x1'))) as PluginError;
        expect({ reason: thrown.reason, detail: thrown.detail }).toEqual({
            reason: 'Cluster',
            detail: 'cannot get pods "virt-launcher-vm-a-x1" in namespace "ns1" (deadline, 2 attempts): no complete response within 100 ms: no response headers',
        });
        expect(server.requestsTo(POD_A_PATH)).toBe(2);
        expect(h.counter.snapshot().byKey.map((e) => e.statuses)).toEqual([{ deadline: 2 }]);
        expect(h.sleeps).toEqual([200]);
    });

    it('a refused connection is retried 4 times, then a Cluster error', async () => {
        const port = new URL(server.url).port;
        await server.close();
        const h = harness(server.url);
        const thrown = (await rejection(h.reader.list(R.pods, 'ns1'))) as PluginError;
        expect({ reason: thrown.reason, detail: thrown.detail }).toEqual({
            reason: 'Cluster',
            detail: `cannot list pods in namespace "ns1" (ECONNREFUSED, 4 attempts): connect ECONNREFUSED 127.0.0.1:${port}`,
        });
        expect(h.sleeps).toEqual([200, 400, 800]);
        expect(h.counter.snapshot().byKey).toEqual([{ verb: 'list', resource: 'pods', namespace: 'ns1', count: 4, bytes: 0, statuses: { ECONNREFUSED: 4 } }]);
        server = await FakeApiServer.start();
    });
});

interface CacheCase {
    name: string;
    run: (h: ReturnType<typeof harness>) => Promise<unknown>;
    requests: string[];
}

const cacheCases: CacheCase[] = [
    {
        name: 'concurrent lists of one namespace share one LIST',
        run: async (h) => {
            const lists = await Promise.all(Array.from({ length: 10 }, () => h.reader.list(R.pods, 'ns1')));
            expect(new Set(lists).size).toBe(1);
        },
        requests: [PODS_NS1],
    },
    {
        name: 'a second list of the same namespace is served from the cache',
        run: async (h) => {
            await h.reader.list(R.pods, 'ns1');
            await h.reader.list(R.pods, 'ns1');
        },
        requests: [PODS_NS1],
    },
    {
        name: 'get after a list is answered from the list',
        run: async (h) => {
            await h.reader.list(R.pods, 'ns1');
            expect(await h.reader.get(R.pods, 'ns1', 'virt-launcher-vm-b-y2')).toMatchObject({ metadata: { name: 'virt-launcher-vm-b-y2' } });
        },
        requests: [PODS_NS1],
    },
    {
        name: 'get during a list in flight waits for the list',
        run: async (h) => {
            const [, pod] = await Promise.all([h.reader.list(R.pods, 'ns1'), h.reader.get(R.pods, 'ns1', 'virt-launcher-vm-a-x1')]);
            expect(pod?.metadata?.uid).toBe('11111111-0000-0000-0000-000000000001');
        },
        requests: [PODS_NS1],
    },
    {
        name: 'get after a list of all namespaces is answered from that list',
        run: async (h) => {
            await h.reader.list(R.pods, '');
            expect((await h.reader.get(R.pods, 'ns2', 'virt-launcher-vm-c-z3'))?.metadata?.namespace).toBe('ns2');
            expect(await h.reader.get(R.pods, 'ns1', 'virt-launcher-vm-c-z3')).toBeUndefined();
        },
        requests: ['/api/v1/pods', '/api/v1/namespaces/ns1/pods/virt-launcher-vm-c-z3'],
    },
    {
        name: 'a name missing from the list costs one GET and its NotFound is cached',
        run: async (h) => {
            await h.reader.list(R.pods, 'ns1');
            expect(await h.reader.get(R.pods, 'ns1', 'gone')).toBeUndefined();
            expect(await h.reader.get(R.pods, 'ns1', 'gone')).toBeUndefined();
        },
        requests: [PODS_NS1, `${PODS_NS1}/gone`],
    },
    {
        name: 'an object created after the list is found by its GET',
        run: async (h) => {
            await h.reader.list(R.pods, 'ns1');
            server.serve([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'late', namespace: 'ns1' } }]);
            expect((await h.reader.get(R.pods, 'ns1', 'late'))?.metadata?.name).toBe('late');
            expect((await h.reader.get(R.pods, 'ns1', 'late'))?.metadata?.name).toBe('late');
        },
        requests: [PODS_NS1, `${PODS_NS1}/late`],
    },
    {
        name: 'get without a list costs one GET per name, shared by concurrent callers',
        run: async (h) => {
            await Promise.all([1, 2, 3].map(() => h.reader.get(R.pods, 'ns1', 'virt-launcher-vm-a-x1')));
            await h.reader.get(R.pods, 'ns1', 'virt-launcher-vm-a-x1');
            await h.reader.get(R.pods, 'ns1', 'virt-launcher-vm-b-y2');
        },
        requests: [POD_A_PATH, `${PODS_NS1}/virt-launcher-vm-b-y2`],
    },
    {
        name: 'a failed list is not repeated within the cool-down, and a GET is still tried',
        run: async (h) => {
            server.reply(PODS_NS1, failure(403, 'Forbidden', 'no list for you'));
            await rejection(h.reader.list(R.pods, 'ns1'));
            await rejection(h.reader.list(R.pods, 'ns1'));
            expect((await h.reader.get(R.pods, 'ns1', 'virt-launcher-vm-a-x1'))?.metadata?.name).toBe('virt-launcher-vm-a-x1');
        },
        requests: [PODS_NS1, POD_A_PATH],
    },
    {
        name: 'a cluster-scoped resource ignores the namespace',
        run: async (h) => {
            await h.reader.list(R.clusterInstancetypes, 'ns1');
            await h.reader.list(R.clusterInstancetypes, '');
            expect((await h.reader.get(R.clusterInstancetypes, 'ns1', 'u1.medium'))?.metadata?.name).toBe('u1.medium');
        },
        requests: ['/apis/instancetype.kubevirt.io/v1beta1/virtualmachineclusterinstancetypes'],
    },
    {
        name: 'lists of different namespaces and resources are separate',
        run: async (h) => {
            await Promise.all([h.reader.list(R.pods, 'ns1'), h.reader.list(R.pods, 'ns2'), h.reader.list(R.dataVolumes, 'ns1')]);
        },
        requests: [PODS_NS1, '/api/v1/namespaces/ns2/pods', '/apis/cdi.kubevirt.io/v1beta1/namespaces/ns1/datavolumes'],
    },
];

describe('per-process caches', () => {
    it.each(cacheCases)('$name', async ({ run, requests }) => {
        const h = harness(server.url);
        await run(h);
        expect(server.seen.map((r) => r.path).sort()).toEqual([...requests].sort());
        expect(h.counter.snapshot().total.count).toBe(requests.length);
    });
});

describe('objects', () => {
    it('list items carry the apiVersion and kind of the list', async () => {
        const h = harness(server.url);
        const [dv] = await h.reader.list(R.dataVolumes, 'ns1');
        expect(dv).toEqual(OBJECTS[3]);
        expect(Object.keys(dv ?? {}).slice(0, 2)).toEqual(['apiVersion', 'kind']);
    });

    it('objects read from the cluster are plain JSON: they inform decisions and never become items', async () => {
        const raw = '{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"big","namespace":"ns1","labels":{"a":"b"}},"spec":{"x":2}}';
        server.reply('/api/v1/namespaces/ns1/persistentvolumeclaims/big', { status: 200, body: raw });
        const h = harness(server.url);
        expect(await h.reader.get(R.pvcs, 'ns1', 'big')).toEqual(JSON.parse(raw));
    });

    it('a gzip response is decoded and counted at its compressed size', async () => {
        const body = { apiVersion: 'v1', kind: 'PodList', metadata: {}, items: [{ metadata: { name: 'p', namespace: 'ns1' } }] };
        server.reply(PODS_NS1, { status: 200, body, gzip: true });
        const h = harness(server.url);
        expect(await h.reader.list(R.pods, 'ns1')).toEqual([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns1' } }]);
        expect(h.counter.snapshot().total).toEqual({ count: 1, bytes: gzipSync(JSON.stringify(body)).length });
    });

    it.each([
        ['an empty name', 'ns1', '', undefined],
        ['a namespaced get without a namespace', '', 'x', 'cannot get pods "x": no namespace given'],
    ])('get with %s makes no request', async (_what, namespace, name, error) => {
        const h = harness(server.url);
        const result = h.reader.get(R.pods, namespace, name);
        if (error === undefined) expect(await result).toBeUndefined();
        else expect(((await rejection(result)) as PluginError).detail).toBe(error);
        expect(server.seen).toEqual([]);
    });
});

describe('request paths', () => {
    it.each([
        { what: 'GET of a core resource', resource: R.pods, namespace: 'ns1', name: 'p', path: '/api/v1/namespaces/ns1/pods/p' },
        { what: 'LIST of a core resource', resource: R.pvcs, namespace: 'ns1', name: undefined, path: '/api/v1/namespaces/ns1/persistentvolumeclaims' },
        { what: 'LIST across namespaces', resource: R.vmis, namespace: '', name: undefined, path: '/apis/kubevirt.io/v1/virtualmachineinstances' },
        { what: 'GET of a custom resource', resource: R.dataVolumes, namespace: 'ns1', name: 'dv', path: '/apis/cdi.kubevirt.io/v1beta1/namespaces/ns1/datavolumes/dv' },
        { what: 'GET of a named group', resource: R.controllerRevisions, namespace: 'ns1', name: 'rev-1', path: '/apis/apps/v1/namespaces/ns1/controllerrevisions/rev-1' },
        {
            what: 'GET of a cluster-scoped resource',
            resource: R.clusterPreferences,
            namespace: '',
            name: 'pref',
            path: '/apis/instancetype.kubevirt.io/v1beta1/virtualmachineclusterpreferences/pref',
        },
        {
            what: 'LIST of a hyphenated plural',
            resource: R.networkAttachmentDefinitions,
            namespace: 'ns1',
            name: undefined,
            path: '/apis/k8s.cni.cncf.io/v1/namespaces/ns1/network-attachment-definitions',
        },
    ])('$what goes to $path', ({ resource, namespace, name, path }) => {
        expect(apiPath(resource, namespace, name)).toBe(path);
    });

    it('a server URL with a path prefix keeps the prefix', async () => {
        server.reply('/k8s/clusters/c-1/api/v1/namespaces/ns1/pods', ok({ apiVersion: 'v1', kind: 'PodList', metadata: {}, items: [] }));
        const h = harness(`${server.url}/k8s/clusters/c-1/`);
        await h.reader.list(R.pods, 'ns1');
        expect(server.seen.map((r) => r.path)).toEqual(['/k8s/clusters/c-1/api/v1/namespaces/ns1/pods']);
    });
});

describe('TLS and credentials', () => {
    let tls: FakeApiServer;
    beforeEach(async () => {
        tls = await FakeApiServer.start({ tls: true, objects: OBJECTS });
    });
    afterEach(async () => {
        closeReaders();
        await tls.close();
    });

    it('HTTPS with the cluster CA and a bearer token works, over one kept-alive connection', async () => {
        const h = harness(tls.url, {}, { caFile: FAKE_CA_FILE, token: 'test-token' });
        expect((await h.reader.get(R.pods, 'ns1', 'virt-launcher-vm-a-x1'))?.metadata?.name).toBe('virt-launcher-vm-a-x1');
        expect(await h.reader.list(R.dataVolumes, 'ns1')).toHaveLength(1);
        expect(tls.seen.map((r) => r.authorization)).toEqual(['Bearer test-token', 'Bearer test-token']);
        expect(tls.connections()).toBe(1);
    });

    it('a server certificate the configuration does not trust fails at once, without retries', async () => {
        const h = harness(tls.url, {}, { insecure: false });
        const thrown = (await rejection(h.reader.get(R.pods, 'ns1', 'virt-launcher-vm-a-x1'))) as PluginError;
        expect({ reason: thrown.reason, detail: thrown.detail }).toEqual({
            reason: 'Cluster',
            detail: 'cannot get pods "virt-launcher-vm-a-x1" in namespace "ns1" (DEPTH_ZERO_SELF_SIGNED_CERT): self-signed certificate; if the root CA is installed locally, try running Node.js with --use-system-ca',
        });
        expect(h.sleeps).toEqual([]);
        expect(tls.seen).toEqual([]);
    });
});

describe('logging and counting', () => {
    it('requests are logged at debug with verb, resource, namespace, name, status and duration, never the body', async () => {
        let clock = 1000;
        const h = harness(server.url, {
            now: () => {
                clock += 5;
                return clock;
            },
        });
        await h.reader.get(R.secrets, 'ns1', 'cloud-init');
        await h.reader.list(R.dataVolumes, 'ns1');
        const requests = h.logs.filter((l) => l['@message'] === 'API request');
        expect(requests.map(({ logSource: _s, ...rest }) => rest)).toEqual([
            {
                '@level': 'debug',
                '@message': 'API request',
                verb: 'get',
                resource: 'secrets',
                namespace: 'ns1',
                name: 'cloud-init',
                status: 200,
                ms: 5,
                '@logSourceSetBy': 'plugin',
            },
            {
                '@level': 'debug',
                '@message': 'API request',
                verb: 'list',
                resource: 'datavolumes.cdi.kubevirt.io',
                namespace: 'ns1',
                name: '',
                status: 200,
                ms: 5,
                '@logSourceSetBy': 'plugin',
            },
        ]);
        expect(h.rawLogs.filter((l) => l.includes('c3VwZXItc2VjcmV0') || l.includes('10Gi'))).toEqual([]);
    });

    it('every attempt is counted with its status and the bytes read', async () => {
        const unavailable = JSON.stringify(statusBody(503, 'ServiceUnavailable', 'later'));
        const notFound = JSON.stringify(objectNotFound(R.pods, 'x')).length;
        const list = JSON.stringify({ apiVersion: 'v1', kind: 'PodList', metadata: {}, items: [] });
        server.reply(PODS_NS1, { status: 503, body: unavailable }, { status: 200, body: list });
        const h = harness(server.url);
        await h.reader.list(R.pods, 'ns1');
        await h.reader.get(R.pods, 'ns1', 'x');
        expect(h.counter.snapshot()).toEqual({
            byKey: [
                { verb: 'get', resource: 'pods', namespace: 'ns1', count: 1, bytes: notFound, statuses: { '404': 1 } },
                { verb: 'list', resource: 'pods', namespace: 'ns1', count: 2, bytes: unavailable.length + list.length, statuses: { '200': 1, '503': 1 } },
            ],
            total: { count: 3, bytes: unavailable.length + list.length + notFound },
        });
    });
});

describe('paged LISTs (limit/continue)', () => {
    const pods = (n: number): KubeObject[] =>
        Array.from({ length: n }, (_, i) => ({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: `p-${String(i).padStart(2, '0')}`, namespace: 'paged' },
            status: { phase: 'Running' },
        }));
    const PAGED_PATH = '/api/v1/namespaces/paged/pods';
    const podList = (items: KubeObject[], token?: string): Reply =>
        ok({
            apiVersion: 'v1',
            kind: 'PodList',
            metadata: { resourceVersion: '7', ...(token !== undefined ? { continue: token } : {}) },
            items: items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
        });

    it.each([
        {
            name: 'a list longer than a page is read page by page and returned whole, in order',
            size: 7,
            pageSize: 3,
            queries: ['limit=3', 'limit=3&continue=Mw', 'limit=3&continue=Ng'],
        },
        { name: 'a list of exactly one page is one request', size: 3, pageSize: 3, queries: ['limit=3'] },
        { name: 'an empty list is one request', size: 0, pageSize: 3, queries: ['limit=3'] },
        { name: 'page size 0 reads the list in one unpaged request', size: 7, pageSize: 0, queries: [''] },
    ])('$name', async ({ size, pageSize, queries }) => {
        server.serve(pods(size));
        const h = harness(server.url, { pageSize });
        const items = await h.reader.list(R.pods, 'paged');
        expect(items.map((p) => p.metadata?.name)).toEqual(pods(size).map((p) => p.metadata?.name));
        expect(items.every((p) => p.kind === 'Pod' && p.apiVersion === 'v1')).toBe(true);
        expect(server.seen.filter((r) => r.path === PAGED_PATH).map((r) => r.query)).toEqual(queries);
        // One logical LIST: its first request is the "list", the continued pages are counted apart.
        const counted = h.counter.snapshot().byKey.map((e) => [e.verb, e.count]);
        expect(counted).toEqual(
            queries.length > 1
                ? [
                      ['list', 1],
                      ['list-page', queries.length - 1],
                  ]
                : [['list', 1]],
        );
        // get() is answered from the pages.
        if (size > 0) expect((await h.reader.get(R.pods, 'paged', `p-${String(size - 1).padStart(2, '0')}`))?.metadata?.name).toBeDefined();
        expect(server.seen).toHaveLength(queries.length);
    });

    it('the default page size is 100 (decision 020)', async () => {
        const h = harness(server.url);
        await h.reader.list(R.pods, 'ns1');
        expect(server.seen.map((r) => r.query)).toEqual(['limit=100']);
    });

    it('a server that ignores limit (no continue token) is read in one request', async () => {
        server.reply(PAGED_PATH, podList(pods(5)));
        const h = harness(server.url, { pageSize: 2 });
        expect(await h.reader.list(R.pods, 'paged')).toHaveLength(5);
        expect(server.seen.map((r) => r.query)).toEqual(['limit=2']);
    });

    it('an expired continue token (410) restarts the list as one unpaged request, as client-go does, without duplicates', async () => {
        const all = pods(5);
        server.reply(
            PAGED_PATH,
            podList(all.slice(0, 2), 'tok-1'),
            failure(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'),
            podList(all),
        );
        const h = harness(server.url, { pageSize: 2 });
        const items = await h.reader.list(R.pods, 'paged');
        expect(items.map((p) => p.metadata?.name)).toEqual(all.map((p) => p.metadata?.name));
        expect(server.seen.map((r) => r.query)).toEqual(['limit=2', 'limit=2&continue=tok-1', '']);
        expect(h.sleeps).toEqual([]);
        expect(h.logs.filter((l) => l['@message'] === 'the continue token of a LIST expired: listing again in one request')).toHaveLength(1);
        expect(h.counter.snapshot().byKey.map((e) => [e.verb, e.count, e.statuses])).toEqual([
            ['list', 2, { '200': 2 }],
            ['list-page', 1, { '410': 1 }],
        ]);
    });

    it('a 410 for the first page is an error (there is no token to give up)', async () => {
        server.reply(PAGED_PATH, failure(410, 'Gone', 'gone'));
        const h = harness(server.url, { pageSize: 2 });
        const thrown = (await rejection(h.reader.list(R.pods, 'paged'))) as PluginError;
        expect({ reason: thrown.reason, detail: thrown.detail }).toEqual({ reason: 'Cluster', detail: 'cannot list pods in namespace "paged" (HTTP 410): gone' });
    });

    it.each([
        {
            name: 'a failing continued page fails the whole list, naming the page; it is retried like any request',
            second: [failure(503, 'ServiceUnavailable', 'later')],
            detail: 'cannot list pods in namespace "paged", page 2 (HTTP 503, 4 attempts): later',
            reason: 'Cluster',
        },
        {
            name: 'a forbidden continued page names the "list" permission',
            second: [failure(403, 'Forbidden', 'no')],
            detail: 'forbidden: cannot list pods in namespace "paged", page 2 (HTTP 403): no; grant the plugin\'s identity "list" on pods (see manifests/rbac)',
            reason: 'Forbidden',
        },
    ])('$name', async ({ second, detail, reason }) => {
        server.reply(PAGED_PATH, podList(pods(2), 'tok-1'), ...second);
        const h = harness(server.url, { pageSize: 2 });
        const thrown = (await rejection(h.reader.list(R.pods, 'paged'))) as PluginError;
        expect({ reason: thrown.reason, detail: thrown.detail }).toEqual({ reason, detail });
    });
});

describe('slimmed cache (decision 020)', () => {
    const managed = [{ manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': {} } }];
    const lastApplied = { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"copy"}', keep: 'me' };
    const pod: KubeObject = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
            name: 'virt-launcher-s',
            namespace: 'slim',
            uid: 'u1',
            labels: { 'kubevirt.io/created-by': 'vmi-uid' },
            annotations: { ...lastApplied },
            ownerReferences: [{ kind: 'VirtualMachineInstance', name: 's', uid: 'vmi-uid' }],
            managedFields: managed,
        },
        spec: { containers: [{ name: 'compute', image: 'virt-launcher' }] },
        status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'compute' }] },
    };
    const slimPod: KubeObject = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
            name: 'virt-launcher-s',
            namespace: 'slim',
            uid: 'u1',
            labels: { 'kubevirt.io/created-by': 'vmi-uid' },
            annotations: { keep: 'me' },
            ownerReferences: [{ kind: 'VirtualMachineInstance', name: 's', uid: 'vmi-uid' }],
        },
        status: { phase: 'Running' },
    };
    const vmi: KubeObject = {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        metadata: { name: 's', namespace: 'slim', annotations: { ...lastApplied }, managedFields: managed },
        spec: { volumes: [{ name: 'root', dataVolume: { name: 's-root' } }] },
        status: { phase: 'Running', conditions: [{ type: 'AgentConnected', status: 'True' }] },
    };
    const slimVmi: KubeObject = {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        metadata: { name: 's', namespace: 'slim', annotations: { keep: 'me' } },
        spec: { volumes: [{ name: 'root', dataVolume: { name: 's-root' } }] },
        status: { phase: 'Running', conditions: [{ type: 'AgentConnected', status: 'True' }] },
    };

    it.each([
        { name: 'a listed pod keeps only its metadata (without managedFields and last-applied) and status.phase', read: 'list', resource: R.pods, object: pod, want: slimPod },
        { name: 'a pod read by GET is slimmed the same way', read: 'get', resource: R.pods, object: pod, want: slimPod },
        { name: 'a listed VMI keeps spec and status whole, only managedFields and last-applied go', read: 'list', resource: R.vmis, object: vmi, want: slimVmi },
        { name: 'a VMI read by GET is slimmed the same way', read: 'get', resource: R.vmis, object: vmi, want: slimVmi },
    ])('$name', async ({ read, resource, object, want }) => {
        server.serve([object]);
        const h = harness(server.url);
        const got = read === 'list' ? (await h.reader.list(resource, 'slim'))[0] : await h.reader.get(resource, 'slim', object.metadata?.name ?? '');
        expect(got).toEqual(want);
    });

    it('a pod without status keeps no status', async () => {
        const { status: _s, ...bare } = pod;
        server.serve([bare]);
        const h = harness(server.url);
        expect(Object.keys((await h.reader.list(R.pods, 'slim'))[0] ?? {})).toEqual(['apiVersion', 'kind', 'metadata']);
    });
});
