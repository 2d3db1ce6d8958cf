/**
 * The ClusterReader that talks to the API server: the only code in the plugin that does.
 *
 *  - Configuration and @kubernetes/client-node are loaded on the first read, never at start-up; with no
 *    configuration at all every read fails with NoCluster and nothing else is affected.
 *  - Caches live as long as the reader, i.e. one plugin process, i.e. one backup or restore. A list is
 *    fetched at most once per (resource, namespace), concurrent callers sharing the request in flight.
 *    get() is answered from a list already fetched; a name the list lacks, or a get() without a list, is
 *    one GET whose answer (NotFound included) is cached too. Failures are cached like answers: a process
 *    whose credentials are refused, or whose server is gone after every retry, does not ask again.
 *  - Each HTTP attempt has a deadline; 429, 5xx and connection failures are retried with capped,
 *    jittered exponential backoff (Retry-After is honoured up to the cap); 404 is a value.
 *  - Objects are parsed losslessly (src/kube/json.ts) and shared between callers: never mutate them.
 *  - Request logging is at debug level and never includes a response body (Secrets pass through here).
 */
import { PluginError } from '../errors';
import { isRecord, type KubeObject } from '../kube/object';
import { quote, requestProblem } from '../kube/refcheck';
import { groupResourceString, type GroupResource } from '../kube/resources';
import type { Logger } from '../logging/logger';
import { defaultConfigLoader, endpointFromKubeConfig, NO_CLUSTER_MESSAGE, type ConfigLoader } from './config';
import type { ClusterReader } from './reader';
import { DEFAULT_RETRY, isRetryableCode, isRetryableStatus, retryAfterMs, retryDelay, type RetryPolicy } from './retry';
import { processRequestCounter, type RequestCounter, type Verb } from './stats';
import { httpGet, messageOf, TransportError, type Endpoint, type HttpResponse } from './transport';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_SOCKETS = 32;

export interface KubeClusterOptions {
    log: Logger;
    /** Finds and loads the configuration (default: KUBECONFIG, ~/.kube/config, in-cluster). */
    loadConfig?: ConfigLoader;
    /** Deadline of each HTTP attempt, response body included. */
    timeoutMs?: number;
    retry?: Partial<RetryPolicy>;
    /** Waits between attempts (tests pass one that returns at once). */
    sleep?: (ms: number) => Promise<void>;
    /** Milliseconds since the epoch (request durations, Retry-After dates). */
    now?: () => number;
    /** Uniform in [0, 1): the backoff jitter. */
    random?: () => number;
    counter?: RequestCounter;
    /** Concurrent connections to the API server. */
    maxSockets?: number;
}

export interface RequestTarget {
    verb: Verb;
    resource: GroupResource;
    /** Already normalised: "" for cluster-scoped resources and all-namespace lists. */
    namespace: string;
    name?: string;
}

interface FetchedList {
    items: readonly KubeObject[];
    /** "namespace/name" → object. */
    byKey: ReadonlyMap<string, KubeObject>;
}

const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The API path of a GET (with name) or LIST (without). */
export function apiPath(resource: GroupResource, namespace: string, name?: string): string {
    const prefix = resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
    const scope = resource.namespaced && namespace !== '' ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    // Names come from items: one like ".." or "a/b" would make the path name another object (refcheck.ts).
    const problem = requestProblem(resource, namespace, name);
    if (problem) throw new PluginError('InvalidItem', `refusing to request ${groupResourceString(resource)} ${quote(name ?? '')} in namespace ${quote(namespace)}: ${problem}`);
    const tail = name === undefined ? '' : `/${encodeURIComponent(name)}`;
    return `${prefix}${scope}/${resource.resource}${tail}`;
}

/** "list pods in namespace \"ns\"", "get datavolumes.cdi.kubevirt.io \"dv\" in namespace \"ns\"". */
export function describeRequest(target: RequestTarget): string {
    const what = groupResourceString(target.resource);
    const object = target.name === undefined ? what : `${what} "${target.name}"`;
    if (!target.resource.namespaced) return `${target.verb} ${object}`;
    if (target.namespace === '') return `${target.verb} ${object} in all namespaces`;
    return `${target.verb} ${object} in namespace "${target.namespace}"`;
}

/** The `message` of a Kubernetes Status body, if the body is one; other bodies are never quoted. */
function statusMessage(body: Buffer): string {
    try {
        const parsed: unknown = JSON.parse(body.toString('utf8'));
        if (isRecord(parsed) && parsed['kind'] === 'Status' && typeof parsed['message'] === 'string') {
            const message = parsed['message'];
            return message.length > 500 ? `${message.slice(0, 500)}…` : message;
        }
    } catch {
        // not JSON: say nothing about it
    }
    return '';
}

function withMessage(head: string, message: string): string {
    return message === '' ? head : `${head}: ${message}`;
}

function scopeOf(resource: GroupResource, namespace: string): string {
    return resource.namespaced ? namespace : '';
}

function listKey(resource: GroupResource, namespace: string): string {
    return `${groupResourceString(resource)}|${namespace}`;
}

/** Items of a LIST carry no apiVersion/kind; give them the list's, so they look like GET answers. */
function withTypeMeta(item: KubeObject, apiVersion: unknown, itemKind: string | undefined): KubeObject {
    const typed: KubeObject = {};
    if (typeof apiVersion === 'string') typed.apiVersion = apiVersion;
    if (itemKind !== undefined) typed.kind = itemKind;
    return { ...typed, ...item };
}

export class KubeCluster implements ClusterReader {
    private readonly log: Logger;
    private readonly loadConfig: ConfigLoader;
    private readonly timeoutMs: number;
    private readonly retry: RetryPolicy;
    private readonly sleep: (ms: number) => Promise<void>;
    private readonly now: () => number;
    private readonly random: () => number;
    private readonly counter: RequestCounter;
    private readonly maxSockets: number;
    private endpointPromise: Promise<Endpoint> | undefined;
    private readonly lists = new Map<string, Promise<FetchedList>>();
    private readonly gets = new Map<string, Promise<KubeObject | undefined>>();

    constructor(options: KubeClusterOptions) {
        this.log = options.log;
        this.loadConfig = options.loadConfig ?? defaultConfigLoader();
        this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        this.retry = { ...DEFAULT_RETRY, ...options.retry };
        this.sleep = options.sleep ?? sleepFor;
        this.now = options.now ?? Date.now;
        this.random = options.random ?? Math.random;
        this.counter = options.counter ?? processRequestCounter;
        this.maxSockets = options.maxSockets ?? DEFAULT_MAX_SOCKETS;
    }

    async list(resource: GroupResource, namespace: string): Promise<readonly KubeObject[]> {
        return (await this.fetchedList(resource, scopeOf(resource, namespace))).items;
    }

    async get(resource: GroupResource, namespace: string, name: string): Promise<KubeObject | undefined> {
        const ns = scopeOf(resource, namespace);
        if (name === '') return undefined;
        if (resource.namespaced && ns === '') {
            throw new PluginError('Internal', `cannot get ${groupResourceString(resource)} "${name}": no namespace given`);
        }
        const listed = await this.fromLists(resource, ns, name);
        if (listed) return listed;
        const key = `${listKey(resource, ns)}|${name}`;
        let pending = this.gets.get(key);
        if (!pending) {
            pending = this.fetchOne({ verb: 'get', resource, namespace: ns, name });
            this.gets.set(key, pending);
        }
        return pending;
    }

    /** Closes idle connections (tests and tools; the plugin process simply exits). */
    close(): void {
        const endpoint = this.endpointPromise;
        this.endpointPromise = undefined;
        endpoint?.then((e) => e.close()).catch(() => undefined);
    }

    /** The object from a list of its namespace (or of all namespaces) fetched or being fetched, if any. */
    private async fromLists(resource: GroupResource, namespace: string, name: string): Promise<KubeObject | undefined> {
        const keys = [listKey(resource, namespace)];
        if (resource.namespaced) keys.push(listKey(resource, ''));
        for (const key of keys) {
            const pending = this.lists.get(key);
            if (!pending) continue;
            try {
                const hit = (await pending).byKey.get(`${namespace}/${name}`);
                if (hit) return hit;
            } catch {
                // The list failed; a GET may still be allowed and answer.
            }
        }
        return undefined;
    }

    private fetchedList(resource: GroupResource, namespace: string): Promise<FetchedList> {
        const key = listKey(resource, namespace);
        let pending = this.lists.get(key);
        if (!pending) {
            pending = this.fetchList({ verb: 'list', resource, namespace });
            this.lists.set(key, pending);
        }
        return pending;
    }

    private async fetchList(target: RequestTarget): Promise<FetchedList> {
        const response = await this.request(target);
        if (response === undefined) return { items: [], byKey: new Map() };
        const parsed = this.parse(target, response);
        const rawItems = isRecord(parsed) ? parsed['items'] : undefined;
        if (!isRecord(parsed) || !(Array.isArray(rawItems) || rawItems === null)) {
            throw new PluginError('Cluster', `cannot ${describeRequest(target)} (HTTP ${response.status}): the response is not a list`);
        }
        const listKind = typeof parsed['kind'] === 'string' ? parsed['kind'] : '';
        const itemKind = listKind.endsWith('List') ? listKind.slice(0, -'List'.length) : undefined;
        const items = (rawItems ?? []).filter(isRecord).map((i) => withTypeMeta(i as KubeObject, parsed['apiVersion'], itemKind));
        const byKey = new Map<string, KubeObject>();
        for (const item of items) {
            byKey.set(`${scopeOf(target.resource, item.metadata?.namespace ?? '')}/${item.metadata?.name ?? ''}`, item);
        }
        return { items, byKey };
    }

    private async fetchOne(target: RequestTarget): Promise<KubeObject | undefined> {
        const response = await this.request(target);
        if (response === undefined) return undefined;
        const parsed = this.parse(target, response);
        if (!isRecord(parsed)) {
            throw new PluginError('Cluster', `cannot ${describeRequest(target)} (HTTP ${response.status}): the response is not an object`);
        }
        return parsed as KubeObject;
    }

    /**
     * Objects read from the cluster only inform decisions (names, labels, phases); they are never handed
     * back to Velero as items. So the plain parser is used: the lossless one costs several times more on
     * LISTs of thousands of objects, for numbers the plugin never reads.
     */
    private parse(target: RequestTarget, response: HttpResponse): unknown {
        try {
            return JSON.parse(response.body.toString('utf8'));
        } catch (error) {
            const reason = messageOf(error);
            throw new PluginError('Cluster', `cannot ${describeRequest(target)} (HTTP ${response.status}): the response is not JSON: ${reason}`);
        }
    }

    private endpoint(): Promise<Endpoint> {
        this.endpointPromise ??= this.loadConfig().then((loaded) => {
            if (loaded === undefined) throw new PluginError('NoCluster', NO_CLUSTER_MESSAGE);
            this.log.debug('using Kubernetes configuration', { source: loaded.source });
            return endpointFromKubeConfig(loaded, this.maxSockets);
        });
        return this.endpointPromise;
    }

    /** One request with retries: the 2xx response, undefined for 404, or a PluginError. */
    private async request(target: RequestTarget): Promise<HttpResponse | undefined> {
        const endpoint = await this.endpoint();
        const path = apiPath(target.resource, target.namespace, target.name);
        const resource = groupResourceString(target.resource);
        for (let attempt = 1; ; attempt++) {
            const started = this.now();
            let response: HttpResponse;
            try {
                response = await httpGet(endpoint, path, this.timeoutMs);
            } catch (error) {
                if (!(error instanceof TransportError)) {
                    const reason = messageOf(error);
                    throw new PluginError('Cluster', `cannot ${describeRequest(target)}: the request could not be prepared: ${reason}`, {
                        cause: error,
                    });
                }
                this.counter.record(target.verb, resource, target.namespace, error.code, error.wireBytes);
                this.logAttempt(target, error.code, started, attempt);
                if (isRetryableCode(error.code) && attempt < this.retry.attempts) {
                    await this.sleep(retryDelay(this.retry, attempt, this.random));
                    continue;
                }
                throw new PluginError('Cluster', withMessage(`cannot ${describeRequest(target)} (${error.code}${attemptsNote(attempt)})`, error.message), {
                    cause: error,
                });
            }
            const { status } = response;
            this.counter.record(target.verb, resource, target.namespace, status, response.wireBytes);
            this.logAttempt(target, status, started, attempt);
            if (status >= 200 && status <= 299) return response;
            if (status === 404) return undefined;
            if (status === 401 || status === 403) throw forbidden(target, status, statusMessage(response.body));
            if (isRetryableStatus(status) && attempt < this.retry.attempts) {
                const header = response.headers['retry-after'];
                await this.sleep(retryDelay(this.retry, attempt, this.random, retryAfterMs(header, this.now())));
                continue;
            }
            throw new PluginError(
                'Cluster',
                withMessage(`cannot ${describeRequest(target)} (HTTP ${status}${attemptsNote(attempt)})`, statusMessage(response.body)),
            );
        }
    }

    private logAttempt(target: RequestTarget, status: number | string, started: number, attempt: number): void {
        this.log.debug('API request', {
            verb: target.verb,
            resource: groupResourceString(target.resource),
            namespace: target.namespace,
            name: target.name ?? '',
            status,
            ms: this.now() - started,
            ...(attempt > 1 ? { attempt } : {}),
        });
    }
}

function attemptsNote(attempt: number): string {
    return attempt > 1 ? `, ${attempt} attempts` : '';
}

function forbidden(target: RequestTarget, status: number, message: string): PluginError {
    const head = withMessage(`cannot ${describeRequest(target)} (HTTP ${status})`, message);
    if (status === 401) {
        return new PluginError(
            'Forbidden',
            `unauthorized: ${head}; check the plugin's credentials (service account token or kubeconfig user)`,
        );
    }
    return new PluginError(
        'Forbidden',
        `forbidden: ${head}; grant the plugin's identity "${target.verb}" on ${groupResourceString(target.resource)} (see manifests/rbac)`,
    );
}
