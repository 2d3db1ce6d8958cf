/**
 * Finding the configuration, and a process without any: it starts, and only reads fail.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfigLoader, findConfigSource, type ConfigLoader } from '../../../src/cluster/config';
import { KubeCluster } from '../../../src/cluster/kube';
import { RequestCounter } from '../../../src/cluster/stats';
import { PluginError } from '../../../src/errors';
import { R } from '../../../src/kube/resources';
import { Logger } from '../../../src/logging/logger';
import { FakeApiServer, writeKubeconfig } from './fake-apiserver';
import { closeReaders, harness, rejection } from './harness';
import { tempDir } from '../../support/temp-dir';

const ENV_KEYS = ['KUBECONFIG', 'HOME', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT'] as const;
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

afterEach(() => {
    closeReaders();
    for (const k of ENV_KEYS) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
    }
});

const quiet = new Logger('error', () => undefined);

interface SourceCase {
    name: string;
    env: Record<string, string>;
    files: string[];
    source: string | undefined;
}

describe('configuration source (loadFromDefault order)', () => {
    it.each<SourceCase>([
        {
            name: 'KUBECONFIG wins over everything',
            env: { KUBECONFIG: '/k', KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '443' },
            files: ['/home/u/.kube/config', '/sa/token'],
            source: 'KUBECONFIG',
        },
        { name: '~/.kube/config when KUBECONFIG is empty', env: { KUBECONFIG: '' }, files: ['/home/u/.kube/config', '/sa/token'], source: '~/.kube/config' },
        {
            name: 'in-cluster with a token and the service env',
            env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
            files: ['/sa/token'],
            source: 'in-cluster',
        },
        { name: 'a token without the service env is not a cluster', env: {}, files: ['/sa/token'], source: undefined },
        { name: 'the service env without a token is not a cluster', env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, files: [], source: undefined },
        { name: 'nothing at all', env: {}, files: [], source: undefined },
    ])('$name', ({ env, files, source }) => {
        const probe = { env, home: '/home/u', serviceAccountDir: '/sa', exists: (p: string): boolean => files.includes(p) };
        expect(findConfigSource(probe)).toBe(source);
    });

    it('no home directory skips ~/.kube/config', () => {
        expect(findConfigSource({ env: {}, home: null, serviceAccountDir: '/sa', exists: () => true })).toBeUndefined();
    });
});

function noConfigEnvironment(): string {
    const home = tempDir('kvp-home-');
    delete process.env['KUBECONFIG'];
    delete process.env['KUBERNETES_SERVICE_HOST'];
    delete process.env['KUBERNETES_SERVICE_PORT'];
    process.env['HOME'] = home;
    return home;
}

describe('no cluster configuration', () => {
    it.each([
        { call: 'get', run: (c: KubeCluster) => c.get(R.pods, 'ns1', 'p') },
        { call: 'list', run: (c: KubeCluster) => c.list(R.dataVolumes, 'ns1') },
    ])('the reader is created, and $call fails with NoCluster', async ({ run }) => {
        const home = noConfigEnvironment();
        const counter = new RequestCounter();
        const reader = new KubeCluster({ log: quiet, counter, loadConfig: defaultConfigLoader(join(home, 'no-service-account')) });
        const thrown = (await rejection(run(reader))) as PluginError;
        expect(thrown).toBeInstanceOf(PluginError);
        expect({ reason: thrown.reason, message: thrown.message }).toEqual({
            reason: 'NoCluster',
            message: 'no Kubernetes configuration found: set KUBECONFIG or run in a pod with a service account',
        });
        expect(counter.snapshot().total.count).toBe(0);
    });

    it('~/.kube/config is used when KUBECONFIG is unset', async () => {
        const server = await FakeApiServer.start();
        try {
            const home = noConfigEnvironment();
            mkdirSync(join(home, '.kube'));
            copyFileSync(writeKubeconfig(server.url), join(home, '.kube', 'config'));
            const reader = new KubeCluster({ log: quiet, counter: new RequestCounter(), loadConfig: defaultConfigLoader(join(home, 'none')) });
            expect(await reader.list(R.pods, 'ns1')).toEqual([]);
            reader.close();
            expect(server.seen.map((r) => r.path)).toEqual(['/api/v1/namespaces/ns1/pods']);
        } finally {
            await server.close();
        }
    });

    it("Velero's --kubeconfig wins over KUBECONFIG and ~/.kube/config", async () => {
        const server = await FakeApiServer.start();
        try {
            const home = noConfigEnvironment();
            process.env['KUBECONFIG'] = join(home, 'does-not-exist');
            const explicit = writeKubeconfig(server.url);
            const loader = defaultConfigLoader(join(home, 'none'), { kubeconfig: explicit });
            expect((await loader())?.source).toBe(`--kubeconfig (${explicit})`);
            const reader = new KubeCluster({ log: quiet, counter: new RequestCounter(), loadConfig: loader });
            expect(await reader.list(R.pods, 'ns1')).toEqual([]);
            reader.close();
            expect(server.seen.map((r) => r.path)).toEqual(['/api/v1/namespaces/ns1/pods']);
        } finally {
            await server.close();
        }
    });

    it('an unknown --kubecontext is a NoCluster error naming the file', async () => {
        const server = await FakeApiServer.start();
        try {
            const home = noConfigEnvironment();
            const explicit = writeKubeconfig(server.url);
            const loader = defaultConfigLoader(join(home, 'none'), { kubeconfig: explicit, context: 'no-such-context' });
            const thrown = (await rejection(loader())) as PluginError;
            expect(thrown.reason).toBe('NoCluster');
            expect(thrown.message).toContain(`cannot load the Kubernetes configuration from --kubeconfig (${explicit})`);
        } finally {
            await server.close();
        }
    });

    it('configuration is loaded on the first read, once, and not when the reader is created', async () => {
        let loads = 0;
        const loader: ConfigLoader = async () => {
            loads += 1;
            return undefined;
        };
        const reader = new KubeCluster({ log: quiet, loadConfig: loader });
        expect(loads).toBe(0);
        await Promise.all([rejection(reader.get(R.pods, 'a', 'b')), rejection(reader.list(R.pods, 'a')), rejection(reader.list(R.secrets, 'a'))]);
        expect(loads).toBe(1);
    });
});

describe('unusable configuration', () => {
    it.each([
        {
            name: 'a KUBECONFIG that names a missing file',
            setup: (): string => join(tempDir('kvp-'), 'missing'),
            detail: (file: string): string => `cannot load the Kubernetes configuration from KUBECONFIG (${file}): ${file} does not exist`,
        },
    ])('$name fails reads with NoCluster', async ({ setup, detail }) => {
        const file = setup();
        process.env['KUBECONFIG'] = file;
        const reader = new KubeCluster({ log: quiet, counter: new RequestCounter() });
        const thrown = (await rejection(reader.list(R.pods, 'ns1'))) as PluginError;
        expect({ reason: thrown.reason, detail: thrown.detail }).toEqual({ reason: 'NoCluster', detail: detail(file) });
    });

    it('the configuration source is logged at debug once', async () => {
        const server = await FakeApiServer.start();
        try {
            const h = harness(server.url);
            await h.reader.list(R.pods, 'ns1');
            await h.reader.list(R.pods, 'ns2');
            expect(h.logs.filter((l) => l['@message'] === 'using Kubernetes configuration').map((l) => [l['@level'], l['source']])).toEqual([['debug', 'KUBECONFIG']]);
        } finally {
            closeReaders();
            await server.close();
        }
    });
});
