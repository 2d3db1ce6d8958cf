/**
 * Finding and loading the Kubernetes configuration (decision 008): our own kubeconfig loader
 * (src/cluster/kubeconfig.ts), loaded and run on the first cluster read, never at start-up (Velero
 * starts a plugin process for every backup and restore, and most never read the cluster).
 *
 * The order is client-go's: Velero's --kubeconfig, else KUBECONFIG (a ':'-separated list, merged), else
 * ~/.kube/config, else the pod's service account. client-go falls back to http://localhost:8080 when none
 * exists; we report "no configuration" instead of talking to a guessed server.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { delimiter, join } from 'node:path';
import { registerCredential } from '../errors';
import type * as CredentialsModule from './credentials';
import type { Credential } from './credentials';
import type { ClusterAccess } from './kubeconfig';
import type * as KubeconfigModule from './kubeconfig';
import type * as ProxyModule from './proxy';
import type { Endpoint } from './transport';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export const NO_CLUSTER_MESSAGE = 'no Kubernetes configuration found: set KUBECONFIG or run in a pod with a service account';

export type ConfigSource = 'KUBECONFIG' | '~/.kube/config' | 'in-cluster';

export interface LoadedConfig {
    /** Where the configuration came from, for the debug log: "KUBECONFIG", "in-cluster", "--kubeconfig (<path>)". */
    source: string;
    access: ClusterAccess;
}

/** Loads the configuration; undefined means there is none at all. */
export type ConfigLoader = () => Promise<LoadedConfig | undefined>;

export interface ConfigProbe {
    env: Record<string, string | undefined>;
    /** The home directory ($HOME; null when unset). */
    home: string | null;
    serviceAccountDir: string;
    exists(path: string): boolean;
}

/** Where client-go would read the configuration from, or undefined when nothing is there. */
export function findConfigSource(probe: ConfigProbe): ConfigSource | undefined {
    if ((probe.env['KUBECONFIG'] ?? '') !== '') return 'KUBECONFIG';
    if (probe.home !== null && probe.exists(join(probe.home, '.kube', 'config'))) return '~/.kube/config';
    const inPod =
        (probe.env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' && (probe.env['KUBERNETES_SERVICE_PORT'] ?? '') !== '' && probe.exists(join(probe.serviceAccountDir, 'token'));
    return inPod ? 'in-cluster' : undefined;
}

/** Velero's own --kubeconfig and --kubecontext, which it passes to its plugins with its other flags. */
export interface ExplicitConfig {
    kubeconfig?: string | undefined;
    context?: string | undefined;
}

/** The files of a KUBECONFIG value: ':'-separated, empty entries dropped, duplicates once (client-go). */
export function kubeconfigPaths(value: string): string[] {
    return [...new Set(value.split(delimiter).filter((p) => p !== ''))];
}

/**
 * The standard loader. When the Velero server runs with --kubeconfig (out of cluster), the plugin
 * receives that flag too and reads the same file, so it talks to the same cluster as Velero;
 * --kubecontext selects the context. The loader module (and the yaml parser) is imported on first call.
 */
export function defaultConfigLoader(serviceAccountDir: string = SERVICE_ACCOUNT_DIR, explicit: ExplicitConfig = {}): ConfigLoader {
    return async () => {
        const env = process.env;
        const home = (env['HOME'] ?? '') !== '' ? (env['HOME'] as string) : null;
        const fromFlag = (explicit.kubeconfig ?? '') !== '';
        const source = fromFlag ? `--kubeconfig (${explicit.kubeconfig ?? ''})` : findConfigSource({ env, home, serviceAccountDir, exists: existsSync });
        if (source === undefined) return undefined;
        // Required here, not imported: the loader and the yaml parser are initialised on the first read only.
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: loaded on the first cluster read, not at start-up
        const kc = require('./kubeconfig') as typeof KubeconfigModule;
        const context = explicit.context ?? '';
        let access: ClusterAccess;
        if (fromFlag) {
            const file = explicit.kubeconfig as string;
            access = kc.resolveAccess(kc.readKubeconfigs([file], source, { skipMissing: false }), source, context);
        } else if (source === 'KUBECONFIG') {
            const value = env['KUBECONFIG'] ?? '';
            const where = `KUBECONFIG (${value})`;
            access = kc.resolveAccess(kc.readKubeconfigs(kubeconfigPaths(value), where, { skipMissing: true }), where, context);
        } else if (source === '~/.kube/config') {
            const file = join(home as string, '.kube', 'config');
            access = kc.resolveAccess(kc.readKubeconfigs([file], `~/.kube/config (${file})`, { skipMissing: false }), `~/.kube/config (${file})`, context);
        } else {
            access = kc.inClusterAccess(env, serviceAccountDir);
        }
        return { source, access };
    };
}

/**
 * An endpoint on loaded access: our own keep-alive agent (through the proxy when one is configured) and
 * credentials applied per request, so rotating tokens and exec plugins keep working.
 */
export async function endpointFromKubeConfig(loaded: LoadedConfig, maxSockets: number): Promise<Endpoint> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: loaded on the first cluster read, not at start-up
    const { credentialSource } = require('./credentials') as typeof CredentialsModule;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy, as above
    const proxies = require('./proxy') as typeof ProxyModule;
    // Without proxy-url, client-go takes the proxy from the environment (HTTPS_PROXY, NO_PROXY, …).
    const access = loaded.access.proxy ? loaded.access : { ...loaded.access, proxy: proxies.proxyFromEnvironment(loaded.access.server, process.env) };
    if (access.proxy) registerCredential(decodeURIComponent(access.proxy.password));
    const proxyModule = access.proxy ? proxies : undefined;
    const plain = access.server.startsWith('http:');
    const trust = { ca: access.tls.ca, insecure: access.tls.insecure };
    const agents = new Map<string, http.Agent>();
    const agentFor = (clientCert: { cert: string | Buffer; key: string | Buffer } | undefined, id: string): http.Agent => {
        const existing = agents.get(id);
        if (existing) return existing;
        let agent: http.Agent;
        if (plain) {
            const options: http.AgentOptions = { keepAlive: true, maxSockets };
            if (!access.proxy || !proxyModule) agent = new http.Agent(options);
            else if (access.proxy.protocol === 'socks5:') agent = new proxyModule.TunnelingHttpAgent(options, access.proxy, trust);
            else agent = new proxyModule.ForwardingHttpAgent(options, access.proxy, trust);
        } else {
            const options: https.AgentOptions = {
                keepAlive: true,
                maxSockets,
                ...(access.tls.ca ? { ca: access.tls.ca } : {}),
                ...(clientCert ? { cert: clientCert.cert, key: clientCert.key } : {}),
                rejectUnauthorized: !access.tls.insecure,
                ...(access.tls.serverName ? { servername: access.tls.serverName } : {}),
            };
            agent = access.proxy && proxyModule ? new proxyModule.TunnelingHttpsAgent(options, access.proxy, trust) : new https.Agent(options);
        }
        agents.set(id, agent);
        return agent;
    };
    const staticCert = access.tls.cert && access.tls.key ? { cert: access.tls.cert, key: access.tls.key } : undefined;
    const credentials = credentialSource(access.auth, access.execCluster, access.impersonate);
    let lastExecCert: { cert: string; key: string; id: string } | undefined;
    // The credential each request was sent with, for unauthorized().
    const sentWith = new WeakMap<https.RequestOptions, Credential>();
    return {
        server: access.server,
        compression: access.disableCompression !== true,
        async requestOptions(): Promise<https.RequestOptions> {
            const credential = await credentials.get();
            let agent: http.Agent;
            if (credential.clientCert) {
                const c = credential.clientCert;
                const current = lastExecCert && lastExecCert.cert === c.cert && lastExecCert.key === c.key ? lastExecCert : { ...c, id: `exec-${agents.size}` };
                lastExecCert = current;
                agent = agentFor(c, current.id);
            } else {
                agent = agentFor(staticCert, 'static');
            }
            const options: https.RequestOptions = { agent, headers: credential.headers };
            sentWith.set(options, credential);
            return options;
        },
        unauthorized(used: https.RequestOptions): boolean {
            return sentWith.get(used)?.rejected?.() ?? false;
        },
        close(): void {
            for (const agent of agents.values()) agent.destroy();
            agents.clear();
        },
    };
}
