/**
 * Finding and loading the Kubernetes configuration. @kubernetes/client-node is imported here, on first
 * use, and nowhere else: Velero starts a plugin process for every backup and restore, and a process
 * that never reads the cluster must not pay for loading the client.
 *
 * The order is client-go's and KubeConfig.loadFromDefault()'s: KUBECONFIG, then ~/.kube/config, then
 * the pod's service account. loadFromDefault() falls back to http://localhost:8080 when none exists;
 * we detect that case first and report "no configuration" instead of talking to a guessed server.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { PluginError } from '../errors';
import { loadClientNode } from './client-node';
import { messageOf, type Endpoint } from './transport';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export const NO_CLUSTER_MESSAGE = 'no Kubernetes configuration found: set KUBECONFIG or run in a pod with a service account';

/** The part of client-node's KubeConfig the reader uses (KubeConfig satisfies it). */
export interface KubeConfigLike {
    getCurrentCluster(): { name: string; server: string; proxyUrl?: string | undefined } | null;
    applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

export type ConfigSource = 'KUBECONFIG' | '~/.kube/config' | 'in-cluster';

export interface LoadedConfig {
    source: ConfigSource | string;
    kubeConfig: KubeConfigLike;
}

/** Loads the configuration; undefined means there is none at all. */
export type ConfigLoader = () => Promise<LoadedConfig | undefined>;

export interface ConfigProbe {
    env: Record<string, string | undefined>;
    /** The home directory client-node would use (null when HOME is unset or unusable). */
    home: string | null;
    serviceAccountDir: string;
    exists(path: string): boolean;
}

/** Where loadFromDefault() would read the configuration from, or undefined when nothing is there. */
export function findConfigSource(probe: ConfigProbe): ConfigSource | undefined {
    if ((probe.env['KUBECONFIG'] ?? '') !== '') return 'KUBECONFIG';
    if (probe.home !== null && probe.exists(join(probe.home, '.kube', 'config'))) return '~/.kube/config';
    const inPod =
        (probe.env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' &&
        (probe.env['KUBERNETES_SERVICE_PORT'] ?? '') !== '' &&
        probe.exists(join(probe.serviceAccountDir, 'token'));
    return inPod ? 'in-cluster' : undefined;
}

/** Velero's own --kubeconfig and --kubecontext, which it passes to its plugins with its other flags. */
export interface ExplicitConfig {
    kubeconfig?: string | undefined;
    context?: string | undefined;
}

/**
 * The standard loader: client-node's KubeConfig.loadFromDefault(), imported on first call. When the
 * Velero server runs with --kubeconfig (out of cluster), the plugin receives that flag too and reads
 * the same file, so it talks to the same cluster as Velero; --kubecontext selects the context.
 */
export function defaultConfigLoader(serviceAccountDir: string = SERVICE_ACCOUNT_DIR, explicit: ExplicitConfig = {}): ConfigLoader {
    return async () => {
        const k8s = await loadClientNode();
        const fromFlag = (explicit.kubeconfig ?? '') !== '';
        const source = fromFlag
            ? `--kubeconfig (${explicit.kubeconfig ?? ''})`
            : findConfigSource({ env: process.env, home: k8s.findHomeDir(), serviceAccountDir, exists: existsSync });
        if (source === undefined) return undefined;
        const kubeConfig = new k8s.KubeConfig();
        try {
            if (fromFlag) kubeConfig.loadFromFile(explicit.kubeconfig as string);
            else kubeConfig.loadFromDefault();
            const context = explicit.context ?? '';
            if (context !== '') {
                if (!kubeConfig.getContextObject(context)) throw new Error(`context "${context}" is not in the configuration`);
                kubeConfig.setCurrentContext(context);
            }
        } catch (error) {
            const where = source === 'KUBECONFIG' ? `KUBECONFIG (${process.env['KUBECONFIG'] ?? ''})` : source;
            throw new PluginError('NoCluster', `cannot load the Kubernetes configuration from ${where}: ${messageOf(error)}`, {
                cause: error,
            });
        }
        return { source, kubeConfig };
    };
}

/**
 * An endpoint on a loaded KubeConfig. TLS material comes from client-node once; credentials are applied
 * per request through client-node, so rotating service-account tokens and exec plugins keep working.
 * We keep our own keep-alive agent (client-node's agent closes the connection after each request) except
 * behind a proxy, where client-node's proxy agent is used as is.
 */
export async function endpointFromKubeConfig(loaded: LoadedConfig, maxSockets: number): Promise<Endpoint> {
    const { kubeConfig } = loaded;
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster || !cluster.server) {
        throw new PluginError('NoCluster', `the Kubernetes configuration from ${loaded.source} names no cluster server in its current context`);
    }
    const base: https.RequestOptions = {};
    try {
        await kubeConfig.applyToHTTPSOptions(base);
    } catch (error) {
        throw new PluginError('NoCluster', `cannot use the Kubernetes configuration from ${loaded.source}: ${messageOf(error)}`, {
            cause: error,
        });
    }
    const server = cluster.server.replace(/\/+$/, '');
    const plain = server.startsWith('http:');
    let agent: http.Agent;
    if (cluster.proxyUrl && base.agent instanceof http.Agent) {
        agent = base.agent;
    } else if (plain) {
        agent = new http.Agent({ keepAlive: true, maxSockets });
    } else {
        agent = new https.Agent({
            keepAlive: true,
            maxSockets,
            ca: base.ca,
            cert: base.cert,
            key: base.key,
            pfx: base.pfx,
            passphrase: base.passphrase,
            ...(base.rejectUnauthorized !== undefined ? { rejectUnauthorized: base.rejectUnauthorized } : {}),
            ...(base.servername ? { servername: base.servername } : {}),
        });
    }
    return {
        server,
        async requestOptions(): Promise<https.RequestOptions> {
            const fresh: https.RequestOptions = {};
            await kubeConfig.applyToHTTPSOptions(fresh);
            return { agent, headers: { ...fresh.headers }, ...(fresh.auth ? { auth: fresh.auth } : {}) };
        },
        close(): void {
            agent.destroy();
        },
    };
}
