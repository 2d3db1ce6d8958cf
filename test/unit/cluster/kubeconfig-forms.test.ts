/**
 * Every kubeconfig form client-go accepts that a Velero plugin meets (decision 008), each against a real
 * local HTTP or HTTPS server: the request must arrive, with the right credentials, through the right
 * proxy. The configuration is loaded by the plugin's own loader exactly as in production.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { defaultConfigLoader, kubeconfigPaths, type ConfigLoader } from '../../../src/cluster/config';
import { KubeCluster } from '../../../src/cluster/kube';
import { proxyFromEnvironment } from '../../../src/cluster/proxy';
import { RequestCounter } from '../../../src/cluster/stats';
import type { PluginError } from '../../../src/errors';
import { R } from '../../../src/kube/resources';
import { Logger } from '../../../src/logging/logger';
import { rejection } from './harness';
import { makePki, RecordingServer, startHttpProxy, startSocks5Proxy, type Pki } from './pki';
import { tempDir } from '../../support/temp-dir';

const quiet = new Logger('error', () => undefined);
let pki: Pki;
let tlsServer: RecordingServer;
let plainServer: RecordingServer;
let namedServer: RecordingServer;

beforeAll(async () => {
    pki = makePki();
    tlsServer = await RecordingServer.start({ tls: { ...pki.server, ca: pki.ca } });
    plainServer = await RecordingServer.start();
    namedServer = await RecordingServer.start({ tls: { ...pki.named, ca: pki.ca } });
}, 60_000);

afterAll(async () => {
    await Promise.all([tlsServer.close(), plainServer.close(), namedServer.close()]);
});

beforeEach(() => {
    for (const s of [tlsServer, plainServer, namedServer]) {
        s.seen.length = 0;
        s.rejected.clear();
    }
});

type Dict = Record<string, unknown>;

function newDir(): string {
    return tempDir('kvp-kc-');
}

/** A kubeconfig with one context "ctx" (cluster "c", user "u"), written to dir/name. */
function kubeconfig(dir: string, cluster: Dict, user: Dict, name = 'config'): string {
    const file = join(dir, name);
    writeFileSync(
        file,
        stringify({
            apiVersion: 'v1',
            kind: 'Config',
            clusters: [{ name: 'c', cluster }],
            users: [{ name: 'u', user }],
            contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
            'current-context': 'ctx',
        }),
    );
    return file;
}

function b64(data: Buffer | string): string {
    return Buffer.from(data).toString('base64');
}

async function withReader<T>(loader: ConfigLoader, run: (reader: KubeCluster) => Promise<T>): Promise<T> {
    const reader = new KubeCluster({ log: quiet, counter: new RequestCounter(), loadConfig: loader, retry: { attempts: 1 } });
    try {
        return await run(reader);
    } finally {
        reader.close();
    }
}

/** Lists pods in ns1 through a kubeconfig file (Velero's --kubeconfig). */
function listThrough(file: string): Promise<unknown> {
    return withReader(defaultConfigLoader(join(newDir(), 'no-sa'), { kubeconfig: file }), (r) => r.list(R.pods, 'ns1'));
}

function execScript(dir: string, body: string): string {
    const path = join(dir, 'credential-plugin.sh');
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
}

describe('servers and TLS', () => {
    it('a plain http server needs no TLS settings (kubectl proxy)', async () => {
        await listThrough(kubeconfig(newDir(), { server: plainServer.url }, { token: 'http-token' }));
        expect(plainServer.seen.map((s) => [s.path, s.authorization])).toEqual([['/api/v1/namespaces/ns1/pods', 'Bearer http-token']]);
    });

    it('a server without a scheme is http when nothing asks for TLS', async () => {
        await listThrough(kubeconfig(newDir(), { server: `127.0.0.1:${plainServer.port}` }, {}));
        expect(plainServer.seen.map((s) => s.path)).toEqual(['/api/v1/namespaces/ns1/pods']);
    });

    it('a path prefix on the server is kept', async () => {
        await listThrough(kubeconfig(newDir(), { server: `${plainServer.url}/prefix/` }, {}));
        expect(plainServer.seen.map((s) => s.path)).toEqual(['/prefix/api/v1/namespaces/ns1/pods']);
    });

    it('certificate-authority, relative to the kubeconfig file', async () => {
        const dir = newDir();
        mkdirSync(join(dir, 'pki'));
        writeFileSync(join(dir, 'pki', 'ca.crt'), pki.ca);
        await listThrough(kubeconfig(dir, { server: tlsServer.url, 'certificate-authority': 'pki/ca.crt' }, { token: 't' }));
        expect(tlsServer.seen).toHaveLength(1);
    });

    it('certificate-authority-data', async () => {
        await listThrough(kubeconfig(newDir(), { server: tlsServer.url, 'certificate-authority-data': b64(pki.ca) }, {}));
        expect(tlsServer.seen).toHaveLength(1);
    });

    it('a server certificate from another CA is refused', async () => {
        const thrown = (await rejection(listThrough(kubeconfig(newDir(), { server: tlsServer.url, 'certificate-authority': pki.otherCaFile }, {})))) as PluginError;
        expect(thrown.reason).toBe('Cluster');
        expect(tlsServer.seen).toHaveLength(0);
    });

    it('insecure-skip-tls-verify', async () => {
        await listThrough(kubeconfig(newDir(), { server: tlsServer.url, 'insecure-skip-tls-verify': true }, {}));
        expect(tlsServer.seen).toHaveLength(1);
    });

    it('tls-server-name verifies the certificate for that name', async () => {
        await listThrough(kubeconfig(newDir(), { server: namedServer.url, 'certificate-authority': pki.caFile, 'tls-server-name': 'kube.test' }, {}));
        expect(namedServer.seen).toHaveLength(1);
        const without = (await rejection(listThrough(kubeconfig(newDir(), { server: namedServer.url, 'certificate-authority': pki.caFile }, {})))) as PluginError;
        expect(without.reason).toBe('Cluster');
        expect(namedServer.seen).toHaveLength(1);
    });
});

describe('credentials', () => {
    it.each([
        { name: 'client-certificate and client-key files', user: (): Dict => ({ 'client-certificate': pki.client.certFile, 'client-key': pki.client.keyFile }) },
        { name: 'client-certificate-data and client-key-data', user: (): Dict => ({ 'client-certificate-data': b64(pki.client.cert), 'client-key-data': b64(pki.client.key) }) },
    ])('$name', async ({ user }) => {
        await listThrough(kubeconfig(newDir(), { server: tlsServer.url, 'certificate-authority': pki.caFile }, user()));
        expect(tlsServer.seen.map((s) => [s.clientCn, s.authorization])).toEqual([['alice', '']]);
    });

    it('token', async () => {
        await listThrough(kubeconfig(newDir(), { server: tlsServer.url, 'certificate-authority': pki.caFile }, { token: 'static-token' }));
        expect(tlsServer.seen.map((s) => s.authorization)).toEqual(['Bearer static-token']);
    });

    it('a client certificate and a token together', async () => {
        await listThrough(
            kubeconfig(
                newDir(),
                { server: tlsServer.url, 'certificate-authority': pki.caFile },
                { token: 'tk', 'client-certificate': pki.client.certFile, 'client-key': pki.client.keyFile },
            ),
        );
        expect(tlsServer.seen.map((s) => [s.clientCn, s.authorization])).toEqual([['alice', 'Bearer tk']]);
    });

    it('tokenFile is re-read when it rotates', async () => {
        const dir = newDir();
        writeFileSync(join(dir, 'token'), 'first-token\n');
        const file = kubeconfig(dir, { server: tlsServer.url, 'certificate-authority': pki.caFile }, { tokenFile: 'token' });
        await withReader(defaultConfigLoader(join(dir, 'no-sa'), { kubeconfig: file }), async (reader) => {
            await reader.list(R.pods, 'ns1');
            // Kubelet rotates projected tokens by swapping the file atomically.
            writeFileSync(join(dir, 'token.new'), 'second-token\n');
            renameSync(join(dir, 'token.new'), join(dir, 'token'));
            await reader.list(R.pods, 'ns2');
            await reader.list(R.pods, 'ns3');
        });
        expect(tlsServer.seen.map((s) => s.authorization)).toEqual(['Bearer first-token', 'Bearer second-token', 'Bearer second-token']);
    });

    it('username and password (basic auth)', async () => {
        await listThrough(kubeconfig(newDir(), { server: tlsServer.url, 'certificate-authority': pki.caFile }, { username: 'admin', password: 'p@ss:word' }));
        expect(tlsServer.seen.map((s) => s.authorization)).toEqual([`Basic ${b64('admin:p@ss:word')}`]);
    });

    it('impersonation: as, as-groups, as-uid', async () => {
        await listThrough(kubeconfig(newDir(), { server: plainServer.url }, { token: 'admin-token', as: 'velero', 'as-groups': ['system:masters', 'backup'], 'as-uid': '42' }));
        const seen = plainServer.seen[0];
        expect([seen?.authorization, seen?.headers['impersonate-user'], seen?.headers['impersonate-group'], seen?.headers['impersonate-uid']]).toEqual([
            'Bearer admin-token',
            'velero',
            'system:masters, backup',
            '42',
        ]);
    });
});

describe('exec credential plugins', () => {
    it.each(['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'])('%s: token, args, env and KUBERNETES_EXEC_INFO', async (apiVersion) => {
        const dir = newDir();
        const script = execScript(
            dir,
            [
                'echo run >> "$RUNS_FILE"',
                'printf "%s" "$KUBERNETES_EXEC_INFO" > "$INFO_FILE"',
                `printf '{"apiVersion":"${apiVersion}","kind":"ExecCredential","status":{"token":"%s-%s","expirationTimestamp":"2999-01-01T00:00:00Z"}}' "$1" "$SUFFIX"`,
            ].join('\n'),
        );
        const exec = {
            apiVersion,
            command: script,
            args: ['exec-token'],
            env: [
                { name: 'SUFFIX', value: 'from-env' },
                { name: 'RUNS_FILE', value: join(dir, 'runs') },
                { name: 'INFO_FILE', value: join(dir, 'info') },
            ],
            provideClusterInfo: true,
            ...(apiVersion.endsWith('/v1') ? { interactiveMode: 'Never' } : {}),
        };
        const file = kubeconfig(dir, { server: tlsServer.url, 'certificate-authority': pki.caFile }, { exec });
        await withReader(defaultConfigLoader(join(dir, 'no-sa'), { kubeconfig: file }), async (reader) => {
            await reader.list(R.pods, 'ns1');
            await reader.list(R.pods, 'ns2');
        });
        expect(tlsServer.seen.map((s) => s.authorization)).toEqual(['Bearer exec-token-from-env', 'Bearer exec-token-from-env']);
        // Cached until expirationTimestamp: one run for two requests.
        expect(readFileSync(join(dir, 'runs'), 'utf8')).toBe('run\n');
        const info = JSON.parse(readFileSync(join(dir, 'info'), 'utf8')) as { apiVersion: string; kind: string; spec: { interactive: boolean; cluster: Dict } };
        expect([info.apiVersion, info.kind, info.spec.interactive, info.spec.cluster['server'], info.spec.cluster['certificate-authority-data']]).toEqual([
            apiVersion,
            'ExecCredential',
            false,
            tlsServer.url,
            b64(pki.ca),
        ]);
    });

    it('an expired credential is fetched again', async () => {
        const dir = newDir();
        const script = execScript(
            dir,
            [
                'echo run >> "$RUNS_FILE"',
                'n=$(wc -l < "$RUNS_FILE" | tr -d " ")',
                `printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"t%s","expirationTimestamp":"2000-01-01T00:00:00Z"}}' "$n"`,
            ].join('\n'),
        );
        const exec = { apiVersion: 'client.authentication.k8s.io/v1beta1', command: script, env: [{ name: 'RUNS_FILE', value: join(dir, 'runs') }] };
        const file = kubeconfig(dir, { server: plainServer.url }, { exec });
        await withReader(defaultConfigLoader(join(dir, 'no-sa'), { kubeconfig: file }), async (reader) => {
            await reader.list(R.pods, 'ns1');
            await reader.list(R.pods, 'ns2');
        });
        expect(plainServer.seen.map((s) => s.authorization)).toEqual(['Bearer t1', 'Bearer t2']);
    });

    /** A plugin whose n-th run prints token `<prefix><n>` (no expiry: cached until the server rejects it). */
    function countingPlugin(dir: string, prefix = 't'): Dict {
        const script = execScript(
            dir,
            [
                'echo run >> "$RUNS_FILE"',
                'n=$(wc -l < "$RUNS_FILE" | tr -d " ")',
                `printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s"}}' "${prefix}$n"`,
            ].join('\n'),
        );
        return { apiVersion: 'client.authentication.k8s.io/v1beta1', command: script, env: [{ name: 'RUNS_FILE', value: join(dir, 'runs') }] };
    }
    const runs = (dir: string): number => (existsSync(join(dir, 'runs')) ? readFileSync(join(dir, 'runs'), 'utf8').split('\n').length - 1 : 0);

    it('a 401 for the plugin credential runs the plugin again and repeats the request once; the new credential is kept', async () => {
        const dir = newDir();
        plainServer.rejected.add('Bearer t1');
        const file = kubeconfig(dir, { server: plainServer.url }, { exec: countingPlugin(dir) });
        await withReader(defaultConfigLoader(join(dir, 'no-sa'), { kubeconfig: file }), async (reader) => {
            await reader.list(R.pods, 'ns1');
            await reader.list(R.pods, 'ns2');
        });
        expect(plainServer.seen.map((s) => [s.path, s.authorization])).toEqual([
            ['/api/v1/namespaces/ns1/pods', 'Bearer t1'],
            ['/api/v1/namespaces/ns1/pods', 'Bearer t2'],
            ['/api/v1/namespaces/ns2/pods', 'Bearer t2'],
        ]);
        expect(runs(dir)).toBe(2);
    });

    it('requests rejected at once run the plugin once more, not once each', async () => {
        const dir = newDir();
        plainServer.rejected.add('Bearer t1');
        const file = kubeconfig(dir, { server: plainServer.url }, { exec: countingPlugin(dir) });
        await withReader(defaultConfigLoader(join(dir, 'no-sa'), { kubeconfig: file }), (reader) =>
            Promise.all([reader.list(R.pods, 'ns1'), reader.list(R.pods, 'ns2'), reader.list(R.pods, 'ns3')]),
        );
        expect(plainServer.seen.filter((s) => s.authorization === 'Bearer t2')).toHaveLength(3);
        expect(runs(dir)).toBe(2);
    });

    it('a plugin credential rejected again after the new run fails the call as unauthorized (one re-run per call)', async () => {
        const dir = newDir();
        plainServer.rejected.add('Bearer t1').add('Bearer t2');
        const file = kubeconfig(dir, { server: plainServer.url }, { exec: countingPlugin(dir) });
        const thrown = (await rejection(listThrough(file))) as PluginError;
        expect(thrown.reason).toBe('Forbidden');
        expect(thrown.detail).toMatch(/^unauthorized: cannot list pods in namespace "ns1" \(HTTP 401\): Unauthorized; check the plugin's credentials/);
        expect(plainServer.seen.map((s) => s.authorization)).toEqual(['Bearer t1', 'Bearer t2']);
        expect(runs(dir)).toBe(2);
    });

    it('a 401 for a fixed token is not retried (nothing would change)', async () => {
        plainServer.rejected.add('Bearer fixed');
        const thrown = (await rejection(listThrough(kubeconfig(newDir(), { server: plainServer.url }, { token: 'fixed' })))) as PluginError;
        expect(thrown.reason).toBe('Forbidden');
        expect(plainServer.seen).toHaveLength(1);
    });

    it('a client certificate from the plugin', async () => {
        const dir = newDir();
        writeFileSync(
            join(dir, 'credential.json'),
            JSON.stringify({
                apiVersion: 'client.authentication.k8s.io/v1',
                kind: 'ExecCredential',
                status: { clientCertificateData: pki.client2.cert.toString(), clientKeyData: pki.client2.key.toString() },
            }),
        );
        const script = execScript(dir, `cat "${join(dir, 'credential.json')}"`);
        const exec = { apiVersion: 'client.authentication.k8s.io/v1', command: script, interactiveMode: 'IfAvailable' };
        await listThrough(kubeconfig(dir, { server: tlsServer.url, 'certificate-authority': pki.caFile }, { exec }));
        expect(tlsServer.seen.map((s) => [s.clientCn, s.authorization])).toEqual([['bob', '']]);
    });

    it('a relative command is resolved against the kubeconfig file', async () => {
        const dir = newDir();
        execScript(dir, `printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"relative"}}'`);
        const exec = { apiVersion: 'client.authentication.k8s.io/v1beta1', command: './credential-plugin.sh' };
        await listThrough(kubeconfig(dir, { server: plainServer.url }, { exec }));
        expect(plainServer.seen.map((s) => s.authorization)).toEqual(['Bearer relative']);
    });
});

describe('disable-compression', () => {
    it.each([
        { name: 'responses are asked for gzip-compressed by default', cluster: {}, encoding: 'gzip' },
        { name: 'disable-compression: true asks for them uncompressed', cluster: { 'disable-compression': true }, encoding: undefined },
        { name: 'disable-compression: false is the default', cluster: { 'disable-compression': false }, encoding: 'gzip' },
    ])('$name', async ({ cluster, encoding }) => {
        await listThrough(kubeconfig(newDir(), { server: plainServer.url, ...cluster }, { token: 'tk' }));
        expect(plainServer.seen.map((s) => s.headers['accept-encoding'])).toEqual([encoding]);
    });

    it('the exec plugin sees disable-compression in the cluster information', async () => {
        const dir = newDir();
        const script = execScript(
            dir,
            ['printf "%s" "$KUBERNETES_EXEC_INFO" > "$INFO_FILE"', `printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"x"}}'`].join(
                '\n',
            ),
        );
        const exec = {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: script,
            interactiveMode: 'Never',
            provideClusterInfo: true,
            env: [{ name: 'INFO_FILE', value: join(dir, 'info') }],
        };
        await listThrough(kubeconfig(dir, { server: plainServer.url, 'disable-compression': true }, { exec }));
        const info = JSON.parse(readFileSync(join(dir, 'info'), 'utf8')) as { spec: { cluster: Dict } };
        expect(info.spec.cluster['disable-compression']).toBe(true);
    });
});

describe('proxy-url', () => {
    it.each([
        { proxy: 'http', target: 'https', expect: (port: number): string => `CONNECT 127.0.0.1:${port}` },
        { proxy: 'https', target: 'https', expect: (port: number): string => `CONNECT 127.0.0.1:${port}` },
        { proxy: 'http', target: 'http', expect: (port: number): string => `GET http://127.0.0.1:${port}/api/v1/namespaces/ns1/pods?limit=100` },
        { proxy: 'https', target: 'http', expect: (port: number): string => `GET http://127.0.0.1:${port}/api/v1/namespaces/ns1/pods?limit=100` },
    ])('an $proxy proxy to an $target server, with proxy credentials', async ({ proxy, target, expect: line }) => {
        const p = await startHttpProxy(proxy === 'https' ? pki.server : undefined);
        try {
            const server = target === 'https' ? tlsServer : plainServer;
            const proxyUrl = p.url.replace('://', '://proxy-user:proxy%20pass@');
            const cluster: Dict = { server: server.url, 'proxy-url': proxyUrl, ...(target === 'https' || proxy === 'https' ? { 'certificate-authority': pki.caFile } : {}) };
            await listThrough(kubeconfig(newDir(), cluster, { token: 'through-proxy' }));
            expect(p.log.requests).toEqual([line(server.port)]);
            expect(p.log.credentials).toEqual([`Basic ${b64('proxy-user:proxy pass')}`]);
            expect(server.seen.map((s) => [s.authorization, s.headers['proxy-authorization']])).toEqual([['Bearer through-proxy', undefined]]);
        } finally {
            await p.close();
        }
    });

    it.each([
        { target: 'https', auth: undefined },
        { target: 'http', auth: undefined },
        { target: 'https', auth: { user: 'socks-user', pass: 'socks-pass' } },
    ])('a socks5 proxy to an $target server (credentials: $auth)', async ({ target, auth }) => {
        const p = await startSocks5Proxy(auth);
        try {
            const server = target === 'https' ? tlsServer : plainServer;
            const proxyUrl = auth ? p.url.replace('://', `://${auth.user}:${auth.pass}@`) : p.url;
            const cluster: Dict = {
                server: server.url.replace('127.0.0.1', 'localhost'),
                'proxy-url': proxyUrl,
                ...(target === 'https' ? { 'certificate-authority': pki.caFile } : {}),
            };
            await listThrough(kubeconfig(newDir(), cluster, { token: 'through-socks' }));
            // The name goes to the proxy unresolved.
            expect(p.log.requests).toEqual([`SOCKS5 localhost:${server.port}`]);
            expect(p.log.credentials).toEqual(auth ? [`${auth.user}:${auth.pass}`] : []);
            expect(server.seen.map((s) => s.authorization)).toEqual(['Bearer through-socks']);
        } finally {
            await p.close();
        }
    });

    it('a socks5 proxy that refuses the credentials fails the read without quoting them', async () => {
        const p = await startSocks5Proxy({ user: 'u', pass: 'right' });
        try {
            const cluster = { server: plainServer.url, 'proxy-url': p.url.replace('://', '://u:wrong-pass@') };
            const thrown = (await rejection(listThrough(kubeconfig(newDir(), cluster, {})))) as PluginError;
            expect(thrown.reason).toBe('Cluster');
            expect(thrown.message).toContain('refused the username and password');
            expect(thrown.message).not.toContain('wrong-pass');
            expect(plainServer.seen).toHaveLength(0);
        } finally {
            await p.close();
        }
    });
});

describe("proxies from the environment (no proxy-url), as Go's ProxyFromEnvironment", () => {
    it.each([
        { name: 'HTTPS_PROXY for an https server', env: { HTTPS_PROXY: 'http://p:3128' }, server: 'https://kube.example:6443', proxy: 'http://p:3128/' },
        { name: 'a proxy without a scheme is http', env: { https_proxy: 'p:3128' }, server: 'https://kube.example', proxy: 'http://p:3128/' },
        { name: 'HTTP_PROXY for an http server', env: { HTTP_PROXY: 'socks5://p:1080', HTTPS_PROXY: 'http://q:1' }, server: 'http://kube.example', proxy: 'socks5://p:1080' },
        { name: 'loopback servers are never proxied', env: { HTTPS_PROXY: 'http://p:3128' }, server: 'https://127.0.0.1:6443', proxy: undefined },
        { name: 'NO_PROXY host name matches the host and its subdomains', env: { HTTPS_PROXY: 'http://p', NO_PROXY: 'example' }, server: 'https://kube.example', proxy: undefined },
        { name: 'NO_PROXY .domain matches subdomains only', env: { HTTPS_PROXY: 'http://p', NO_PROXY: '.kube.example' }, server: 'https://kube.example', proxy: 'http://p/' },
        { name: 'NO_PROXY CIDR', env: { HTTPS_PROXY: 'http://p', NO_PROXY: 'localhost,10.96.0.0/12' }, server: 'https://10.96.0.1:443', proxy: undefined },
        { name: 'NO_PROXY with another port', env: { HTTPS_PROXY: 'http://p', NO_PROXY: '10.96.0.1:8443' }, server: 'https://10.96.0.1', proxy: 'http://p/' },
        { name: 'NO_PROXY=*', env: { HTTPS_PROXY: 'http://p', NO_PROXY: '*' }, server: 'https://10.96.0.1', proxy: undefined },
    ])('$name', ({ env, server, proxy }) => {
        expect(proxyFromEnvironment(server, env)?.href).toBe(proxy);
    });

    it('HTTPS_PROXY carries the read to a server only the proxy can resolve; NO_PROXY bypasses it', async () => {
        const p = await startHttpProxy(undefined, { 'kube.test': '127.0.0.1' });
        const saved = { HTTPS_PROXY: process.env['HTTPS_PROXY'], NO_PROXY: process.env['NO_PROXY'] };
        try {
            process.env['HTTPS_PROXY'] = p.url;
            const file = kubeconfig(newDir(), { server: `https://kube.test:${namedServer.port}`, 'certificate-authority': pki.caFile }, { token: 'env-proxy' });
            await listThrough(file);
            expect(p.log.requests).toEqual([`CONNECT kube.test:${namedServer.port}`]);
            expect(namedServer.seen.map((s) => s.authorization)).toEqual(['Bearer env-proxy']);
            process.env['NO_PROXY'] = 'kube.test';
            const direct = (await rejection(listThrough(file))) as PluginError;
            expect([direct.reason, p.log.requests.length]).toEqual(['Cluster', 1]);
        } finally {
            for (const [k, v] of Object.entries(saved)) {
                if (v === undefined) delete process.env[k];
                else process.env[k] = v;
            }
            await p.close();
        }
    });
});

describe('discovery and merging', () => {
    const ENV_KEYS = ['KUBECONFIG', 'HOME', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT'] as const;
    const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
    afterEach(() => {
        for (const k of ENV_KEYS) {
            if (saved[k] === undefined) delete process.env[k];
            else process.env[k] = saved[k];
        }
    });

    it('KUBECONFIG paths: split on ":", empty entries dropped, duplicates once', () => {
        expect(kubeconfigPaths('/a::/b:/a:')).toEqual(['/a', '/b']);
    });

    it("Velero's --kubecontext picks a context other than current-context", async () => {
        const dir = newDir();
        const file = join(dir, 'config');
        writeFileSync(
            file,
            stringify({
                clusters: [
                    { name: 'plain', cluster: { server: plainServer.url } },
                    { name: 'tls', cluster: { server: tlsServer.url, 'certificate-authority': pki.caFile } },
                ],
                users: [{ name: 'u', user: { token: 'picked' } }],
                contexts: [
                    { name: 'current', context: { cluster: 'plain', user: 'u' } },
                    { name: 'other', context: { cluster: 'tls', user: 'u' } },
                ],
                'current-context': 'current',
            }),
        );
        await withReader(defaultConfigLoader(join(dir, 'no-sa'), { kubeconfig: file, context: 'other' }), (r) => r.list(R.pods, 'ns1'));
        expect([tlsServer.seen.map((s) => s.authorization), plainServer.seen.length]).toEqual([['Bearer picked'], 0]);
    });

    it("a KUBECONFIG list is merged with client-go's rules", async () => {
        const dir = newDir();
        const first = join(dir, 'first');
        const second = join(dir, 'second');
        // first: current-context "ctx", cluster "c" (the TLS server) and nothing else.
        writeFileSync(first, stringify({ clusters: [{ name: 'c', cluster: { server: tlsServer.url, 'certificate-authority': pki.caFile } }], 'current-context': 'ctx' }));
        // second: another current-context, its own "c" (ignored: first wins), the context and the user.
        writeFileSync(
            second,
            stringify({
                clusters: [{ name: 'c', cluster: { server: plainServer.url } }],
                users: [{ name: 'u', user: { token: 'from-second' } }],
                contexts: [
                    { name: 'ctx', context: { cluster: 'c', user: 'u' } },
                    { name: 'other', context: { cluster: 'c', user: 'u' } },
                ],
                'current-context': 'other',
            }),
        );
        process.env['KUBECONFIG'] = [join(dir, 'missing'), first, second].join(':');
        const loader = defaultConfigLoader(join(dir, 'no-sa'));
        await withReader(loader, (r) => r.list(R.pods, 'ns1'));
        expect([tlsServer.seen.map((s) => s.authorization), plainServer.seen.length]).toEqual([['Bearer from-second'], 0]);
    });

    it('in-cluster: service environment, token re-read as it rotates, the service account CA', async () => {
        const dir = newDir();
        const sa = join(dir, 'serviceaccount');
        mkdirSync(sa);
        writeFileSync(join(sa, 'token'), 'sa-token-1');
        writeFileSync(join(sa, 'ca.crt'), pki.ca);
        delete process.env['KUBECONFIG'];
        process.env['HOME'] = dir;
        process.env['KUBERNETES_SERVICE_HOST'] = '127.0.0.1';
        process.env['KUBERNETES_SERVICE_PORT'] = String(tlsServer.port);
        const loader = defaultConfigLoader(sa);
        expect((await loader())?.source).toBe('in-cluster');
        await withReader(loader, async (reader) => {
            await reader.list(R.pods, 'ns1');
            writeFileSync(join(sa, 'token.new'), 'sa-token-2');
            renameSync(join(sa, 'token.new'), join(sa, 'token'));
            await reader.list(R.pods, 'ns2');
        });
        expect(tlsServer.seen.map((s) => s.authorization)).toEqual(['Bearer sa-token-1', 'Bearer sa-token-2']);
        expect(existsSync(join(dir, '.kube'))).toBe(false);
    });
});

describe('refused forms', () => {
    it('auth-provider is refused with a message naming the file and the field', async () => {
        const file = kubeconfig(newDir(), { server: plainServer.url }, { 'auth-provider': { name: 'oidc', config: { 'id-token': 'x' } } });
        const thrown = (await rejection(listThrough(file))) as PluginError;
        expect({ reason: thrown.reason, message: thrown.message }).toEqual({
            reason: 'NoCluster',
            message: `cannot load the Kubernetes configuration from --kubeconfig (${file}): ${file}: user "u": auth-provider "oidc" is not supported by this plugin; use an exec credential plugin (for OIDC, e.g. kubelogin; for GKE, gke-gcloud-auth-plugin) or a token`,
        });
        expect(plainServer.seen).toHaveLength(0);
    });

    it('exec interactiveMode Always is refused (a plugin has no terminal)', async () => {
        const file = kubeconfig(newDir(), { server: plainServer.url }, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'x', interactiveMode: 'Always' } });
        const thrown = (await rejection(listThrough(file))) as PluginError;
        expect(thrown.message).toBe(
            `cannot load the Kubernetes configuration from --kubeconfig (${file}): ${file}: user "u": exec: interactiveMode is Always, but a Velero plugin has no terminal`,
        );
    });
});
