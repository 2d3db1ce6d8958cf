/**
 * The ClusterReader that talks to the API server: the only code in the plugin that does.
 *
 *  - Configuration is loaded on the first read, never at start-up; with no configuration at all every
 *    read fails with NoCluster and nothing else is affected.
 *  - Caches live as long as the reader, i.e. one plugin process, i.e. one backup or restore. A list is
 *    fetched successfully at most once per (resource, namespace), concurrent callers sharing the request
 *    in flight. A LIST is read in pages of `pageSize` items (limit/continue, as client-go's pager): one
 *    logical LIST, one snapshot of the collection; when the server expires the continue token (410) the
 *    list is read again in one unpaged request, as client-go does. Cached objects are slimmed when
 *    parsed (src/cluster/slim.ts: managedFields and other fields no reader consults are dropped). get() is answered from a list already fetched; a name the list lacks, or a get() without
 *    a list, is one GET whose answer (NotFound included) is cached too. A failure is remembered only for
 *    a short cool-down: callers within it fail at once without a request, the first one after it asks
 *    again, so a short outage costs the items read during it, not the rest of the run.
 *  - Every call has one deadline, from the moment it is made: waiting for a connection, each attempt,
 *    retries and the waits between them all fit in it. 429, 5xx and connection failures are retried with
 *    capped, jittered exponential backoff (Retry-After is honoured up to the cap); 401/403 are not.
 *  - 404: an absent object (a Status naming it) is a value. A 404 for a whole resource type is an error
 *    for built-in types (the request did not reach an API server) and "not installed" for custom
 *    resources when discovery confirms it: one warning per process, no objects.
 *  - Objects are plain JSON and shared between callers: never mutate them.
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
import { slimObject } from './slim';
import { processRequestCounter, type RequestCounter, type Verb } from './stats';
import { formatBytes, httpGet, messageOf, TransportError, type Endpoint, type HttpResponse } from './transport';

/** Deadline of one HTTP attempt (connection wait and body included), within the call's deadline. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Deadline of one call (list or get), from the moment it is made: queueing, attempts and waits. */
export const DEFAULT_DEADLINE_MS = 30_000;
/** How long a failed read is answered from the cache (failing at once) before it is asked again. */
export const DEFAULT_COOL_DOWN_MS = 1_000;
/** Largest response body read (decoded); a larger one fails the read instead of the process. */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_SOCKETS = 32;
/**
 * Items per LIST page; 0 reads every LIST in one request. client-go's pager uses 500; 100 measured a
 * lower peak (anonymous RSS of a 1,000-VM backup 48 -> 41 MiB, decision 020) for 5x the requests (70
 * instead of 14 for that namespace, against 8,000 of the Go plugin).
 */
export const DEFAULT_PAGE_SIZE = 100;

/** API groups every API server serves: a 404 for one of their resources means a wrong URL, not "not installed". */
const BUILT_IN_GROUPS = new Set([
    '',
    'apps',
    'batch',
    'autoscaling',
    'policy',
    'networking.k8s.io',
    'storage.k8s.io',
    'rbac.authorization.k8s.io',
    'coordination.k8s.io',
    'discovery.k8s.io',
    'node.k8s.io',
    'scheduling.k8s.io',
    'certificates.k8s.io',
]);

export interface KubeClusterOptions {
    log: Logger;
    /** Finds and loads the configuration (default: KUBECONFIG, ~/.kube/config, in-cluster). */
    loadConfig?: ConfigLoader;
    /** Deadline of each HTTP attempt, connection wait and response body included. */
    timeoutMs?: number;
    /** Deadline of each call (list, get), from the moment it is made, retries and waits included. */
    deadlineMs?: number;
    /** A failed read is not asked again for this long; callers in between get its error at once. */
    coolDownMs?: number;
    /** Largest response body read, decoded. */
    maxResponseBytes?: number;
    retry?: Partial<RetryPolicy>;
    /** Waits between attempts (tests pass one that returns at once). */
    sleep?: (ms: number) => Promise<void>;
    /** Milliseconds since the epoch (deadlines, cool-downs, request durations, Retry-After dates). */
    now?: () => number;
    /** Uniform in [0, 1): the backoff jitter. */
    random?: () => number;
    counter?: RequestCounter;
    /** Concurrent connections to the API server. */
    maxSockets?: number;
    /** Items per LIST page (`limit`); 0: no paging. */
    pageSize?: number;
}

export interface RequestTarget {
    verb: Verb;
    resource: GroupResource;
    /** Already normalised: "" for cluster-scoped resources and all-namespace lists. */
    namespace: string;
    name?: string;
}

/** One HTTP request as the retry loop sees it: where it goes, how it is counted and described. */
interface Call {
    verb: Verb;
    /** The counter's resource column. */
    counted: string;
    namespace: string;
    name: string;
    path: string;
    /** "list pods in namespace \"ns\"": the head of every error text. */
    description: string;
    /** Statuses besides 2xx and 404 that are answers, not failures (410 for a continued LIST page). */
    answers?: readonly number[];
}

interface FetchedList {
    items: readonly KubeObject[];
    /** "namespace/name" → object. */
    byKey: ReadonlyMap<string, KubeObject>;
}

const EMPTY_LIST: FetchedList = { items: [], byKey: new Map() };

const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The API path of a GET (with name) or LIST (without). */
export function apiPath(resource: GroupResource, namespace: string, name?: string): string {
    const scope = resource.namespaced && namespace !== '' ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    // Names come from items: one like ".." or "a/b" would make the path name another object (refcheck.ts).
    const problem = requestProblem(resource, namespace, name);
    if (problem) throw new PluginError('InvalidItem', `refusing to request ${groupResourceString(resource)} ${quote(name ?? '')} in namespace ${quote(namespace)}: ${problem}`);
    const tail = name === undefined ? '' : `/${encodeURIComponent(name)}`;
    return `${groupVersionPath(resource)}${scope}/${resource.resource}${tail}`;
}

function groupVersionPath(resource: GroupResource): string {
    return resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
}

function groupVersion(resource: GroupResource): string {
    return resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
}

/** "list pods in namespace \"ns\"", "get datavolumes.cdi.kubevirt.io \"dv\" in namespace \"ns\"". */
export function describeRequest(target: RequestTarget): string {
    const what = groupResourceString(target.resource);
    const object = target.name === undefined ? what : `${what} "${target.name}"`;
    if (!target.resource.namespaced) return `${target.verb} ${object}`;
    if (target.namespace === '') return `${target.verb} ${object} in all namespaces`;
    return `${target.verb} ${object} in namespace "${target.namespace}"`;
}

function parseJson(body: Buffer): unknown {
    try {
        return JSON.parse(body.toString('utf8'));
    } catch {
        return undefined;
    }
}

/** A Kubernetes Status body, if the body is one. */
function statusOf(body: Buffer): Record<string, unknown> | undefined {
    const parsed = parseJson(body);
    return isRecord(parsed) && parsed['kind'] === 'Status' ? parsed : undefined;
}

/** The `message` of a Kubernetes Status body, if the body is one; other bodies are never quoted. */
function statusMessage(body: Buffer): string {
    const message = statusOf(body)?.['message'];
    if (typeof message !== 'string') return '';
    return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}

/**
 * The API server's answer for an absent object: a NotFound Status whose details name it. A 404 for a
 * path the server does not serve at all has no details (or is not a Status: a proxy's page).
 */
function isObjectNotFound(body: Buffer, name: string): boolean {
    const status = statusOf(body);
    const details = status?.['details'];
    return status?.['reason'] === 'NotFound' && isRecord(details) && details['name'] === name;
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

/** The collected pages of one LIST. */
class ListBuilder {
    readonly items: KubeObject[] = [];
    readonly byKey = new Map<string, KubeObject>();

    constructor(private readonly resource: GroupResource) {}

    /** Adds the items of one parsed page: slimmed, with the list's apiVersion and item kind (src/cluster/slim.ts). */
    add(page: Record<string, unknown>, rawItems: readonly unknown[]): void {
        const apiVersion = typeof page['apiVersion'] === 'string' ? page['apiVersion'] : undefined;
        const listKind = typeof page['kind'] === 'string' ? page['kind'] : '';
        const itemKind = listKind.endsWith('List') ? listKind.slice(0, -'List'.length) : undefined;
        for (const raw of rawItems) {
            if (!isRecord(raw)) continue;
            const item = slimObject(this.resource, raw, apiVersion, itemKind);
            this.items.push(item);
            this.byKey.set(`${scopeOf(this.resource, item.metadata?.namespace ?? '')}/${item.metadata?.name ?? ''}`, item);
        }
    }

    clear(): void {
        this.items.length = 0;
        this.byKey.clear();
    }
}

/** The continue token of a LIST page, "" on the last page. */
function continueOf(page: Record<string, unknown>): string {
    const metadata = page['metadata'];
    const token = isRecord(metadata) ? metadata['continue'] : undefined;
    return typeof token === 'string' ? token : '';
}

function seconds(ms: number): string {
    return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

interface MemoEntry<T> {
    promise: Promise<T>;
    /** Set when the promise rejected: when, and with what. */
    failure?: { at: number; error: unknown };
}

/**
 * Answers by key, computed once: concurrent callers share the computation in flight, a value is kept
 * for good, a failure for `coolDownMs` (callers within it get the error at once, with a note saying so;
 * the first caller after it computes again).
 */
class Memo<T> {
    private readonly entries = new Map<string, MemoEntry<T>>();

    constructor(
        private readonly now: () => number,
        private readonly coolDownMs: number,
    ) {}

    get(key: string, compute: () => Promise<T>): Promise<T> {
        const current = this.entries.get(key);
        if (current) {
            const { failure } = current;
            if (failure === undefined) return current.promise;
            const age = this.now() - failure.at;
            if (age < this.coolDownMs) return Promise.reject(coolingDown(failure.error, age, this.coolDownMs));
        }
        const entry: MemoEntry<T> = { promise: compute() };
        entry.promise.catch((error: unknown) => {
            entry.failure = { at: this.now(), error };
        });
        this.entries.set(key, entry);
        return entry.promise;
    }

    /** The computation for `key` if there is one (in flight, done, or failed). */
    peek(key: string): Promise<T> | undefined {
        return this.entries.get(key)?.promise;
    }
}

function coolingDown(error: unknown, age: number, coolDownMs: number): unknown {
    if (!(error instanceof PluginError)) return error;
    return new PluginError(error.reason, `${error.detail} (${age} ms ago; not asked again before the ${coolDownMs} ms cool-down ends)`, {
        cause: error,
    });
}

export class KubeCluster implements ClusterReader {
    private readonly log: Logger;
    private readonly loadConfig: ConfigLoader;
    private readonly timeoutMs: number;
    private readonly deadlineMs: number;
    private readonly maxResponseBytes: number;
    private readonly retry: RetryPolicy;
    private readonly sleep: (ms: number) => Promise<void>;
    private readonly now: () => number;
    private readonly random: () => number;
    private readonly counter: RequestCounter;
    private readonly maxSockets: number;
    private readonly pageSize: number;
    private endpointPromise: Promise<Endpoint> | undefined;
    private readonly lists: Memo<FetchedList>;
    private readonly gets: Memo<KubeObject | undefined>;
    /** Discovery of custom resources: does the server serve this group-version-resource? */
    private readonly served: Memo<boolean>;
    /** Group-resources found not installed (warned about once). */
    private readonly notInstalled = new Set<string>();

    constructor(options: KubeClusterOptions) {
        this.log = options.log;
        this.loadConfig = options.loadConfig ?? defaultConfigLoader();
        this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
        this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
        this.retry = { ...DEFAULT_RETRY, ...options.retry };
        this.sleep = options.sleep ?? sleepFor;
        this.now = options.now ?? Date.now;
        this.random = options.random ?? Math.random;
        this.counter = options.counter ?? processRequestCounter;
        this.maxSockets = options.maxSockets ?? DEFAULT_MAX_SOCKETS;
        this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
        const coolDownMs = options.coolDownMs ?? DEFAULT_COOL_DOWN_MS;
        this.lists = new Memo(this.now, coolDownMs);
        this.gets = new Memo(this.now, coolDownMs);
        this.served = new Memo(this.now, coolDownMs);
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
        return this.gets.get(`${listKey(resource, ns)}|${name}`, () => this.fetchOne({ verb: 'get', resource, namespace: ns, name }));
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
            const pending = this.lists.peek(key);
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
        return this.lists.get(listKey(resource, namespace), () => this.fetchList({ verb: 'list', resource, namespace }));
    }

    /**
     * One logical LIST: its pages, each parsed and slimmed before the next is asked for, so that the
     * process never holds more than one page's body, text and parse at once. Every page shares the
     * call's deadline. A 410 for a continued page (the token's snapshot was compacted away) restarts the
     * list as one unpaged request, as client-go's pager does (FullListIfExpired).
     */
    private async fetchList(target: RequestTarget): Promise<FetchedList> {
        const deadline = this.now() + this.deadlineMs;
        if (this.notInstalled.has(groupResourceString(target.resource))) return EMPTY_LIST;
        const list = new ListBuilder(target.resource);
        let paged = this.pageSize > 0;
        let token = '';
        for (let page = 1; ; page++) {
            const query = paged ? `limit=${this.pageSize}${token === '' ? '' : `&continue=${encodeURIComponent(token)}`}` : '';
            const call = this.callOf(target, query, page);
            const answer = await this.fetchPage(target, call, page, deadline);
            if (answer === 'not installed') return EMPTY_LIST;
            if (answer === 'expired') {
                this.log.debug('the continue token of a LIST expired: listing again in one request', { resource: call.counted, namespace: call.namespace, page });
                list.clear();
                paged = false;
                token = '';
                page = 0;
                continue;
            }
            list.add(answer.list, answer.items);
            token = paged ? continueOf(answer.list) : '';
            if (token === '') break;
        }
        return { items: list.items, byKey: list.byKey };
    }

    /**
     * One page of a LIST, parsed; its body is not kept past this call (the caller slims the items while
     * nothing else of the page is alive). "expired": a 410 for a continued page.
     */
    private async fetchPage(
        target: RequestTarget,
        call: Call,
        page: number,
        deadline: number,
    ): Promise<{ list: Record<string, unknown>; items: readonly unknown[] } | 'expired' | 'not installed'> {
        const response = await this.request(call, deadline);
        if (response.status === 404) {
            if (page > 1) throw new PluginError('Cluster', withMessage(`cannot ${call.description} (HTTP 404)`, statusMessage(response.body)));
            await this.resolveNotFound(target, response, deadline);
            return 'not installed';
        }
        if (response.status === 410) return 'expired';
        const parsed = this.parse(target, response);
        const rawItems = isRecord(parsed) ? parsed['items'] : undefined;
        if (!isRecord(parsed) || !(Array.isArray(rawItems) || rawItems === null)) {
            throw new PluginError('Cluster', `cannot ${call.description} (HTTP ${response.status}): the response is not a list`);
        }
        return { list: parsed, items: rawItems ?? [] };
    }

    private async fetchOne(target: RequestTarget): Promise<KubeObject | undefined> {
        const deadline = this.now() + this.deadlineMs;
        if (this.notInstalled.has(groupResourceString(target.resource))) return undefined;
        const response = await this.request(this.callOf(target), deadline);
        if (response.status === 404) {
            if (isObjectNotFound(response.body, target.name ?? '')) return undefined;
            await this.resolveNotFound(target, response, deadline);
            return undefined;
        }
        const parsed = this.parse(target, response);
        if (!isRecord(parsed)) {
            throw new PluginError('Cluster', `cannot ${describeRequest(target)} (HTTP ${response.status}): the response is not an object`);
        }
        return slimObject(target.resource, parsed);
    }

    /**
     * A 404 for the resource type itself. Built-in types are served by every API server, so the request
     * did not reach one (a wrong server URL or path prefix, an intercepting proxy): an error. A custom
     * resource is "not installed" only when the server's discovery says so (one warning per process);
     * otherwise the 404 is an error too. Returns normally for "not installed".
     */
    private async resolveNotFound(target: RequestTarget, response: HttpResponse, deadline: number): Promise<void> {
        const resource = groupResourceString(target.resource);
        const head = withMessage(`cannot ${describeRequest(target)} (HTTP 404)`, statusMessage(response.body));
        if (BUILT_IN_GROUPS.has(target.resource.group)) {
            throw new PluginError(
                'Cluster',
                `${head}; ${resource} is served by every API server, so the request did not reach one: check the server URL and path prefix of the Kubernetes configuration and any proxy in between`,
            );
        }
        const gv = groupVersion(target.resource);
        const served = await this.served.get(`${gv}/${target.resource.resource}`, () => this.discover(target.resource, deadline));
        if (served) {
            throw new PluginError(
                'Cluster',
                `${head}; the API server's discovery lists ${resource} (${gv}), so the request did not reach it as sent: check the path prefix of the server URL and any proxy in between`,
            );
        }
        if (!this.notInstalled.has(resource)) {
            this.notInstalled.add(resource);
            this.log.warn(`${resource} is not installed in the cluster (the API server does not serve ${gv}): reading it as no objects`, {
                resource,
                groupVersion: gv,
            });
        }
    }

    /**
     * Whether the server serves the resource, from discovery: its group-version's resource list, or, when
     * that is 404 too, the list of groups (/apis), which every API server serves. Anything else (the
     * root 404 as well) is an error: the answers do not come from an API server.
     */
    private async discover(resource: GroupResource, deadline: number): Promise<boolean> {
        const gv = groupVersion(resource);
        const call = (path: string): Call => ({
            verb: 'discover',
            counted: path,
            namespace: '',
            name: '',
            path,
            description: `discover ${groupResourceString(resource)} (GET ${path})`,
        });
        const versionCall = call(groupVersionPath(resource));
        const versionResponse = await this.request(versionCall, deadline);
        if (versionResponse.status !== 404) {
            const list = this.parseDiscovery(versionCall, versionResponse, 'APIResourceList');
            const resources = Array.isArray(list['resources']) ? list['resources'] : [];
            return resources.some((r: unknown) => isRecord(r) && r['name'] === resource.resource);
        }
        const rootCall = call('/apis');
        const rootResponse = await this.request(rootCall, deadline);
        if (rootResponse.status === 404) {
            throw new PluginError(
                'Cluster',
                `cannot ${rootCall.description} (HTTP 404): the server does not answer API discovery, so it is not an API server as addressed: check the server URL and path prefix of the Kubernetes configuration and any proxy in between`,
            );
        }
        const groups = this.parseDiscovery(rootCall, rootResponse, 'APIGroupList')['groups'];
        return (Array.isArray(groups) ? groups : []).some(
            (g: unknown) =>
                isRecord(g) && g['name'] === resource.group && Array.isArray(g['versions']) && g['versions'].some((v: unknown) => isRecord(v) && v['groupVersion'] === gv),
        );
    }

    private parseDiscovery(call: Call, response: HttpResponse, kind: string): Record<string, unknown> {
        const parsed = parseJson(response.body);
        if (!isRecord(parsed) || parsed['kind'] !== kind) {
            throw new PluginError('Cluster', `cannot ${call.description} (HTTP ${response.status}): the response is not an ${kind}`);
        }
        return parsed;
    }

    /**
     * Objects read from the cluster only inform decisions (names, labels, phases); they are never handed
     * back to Velero as items. So the plain parser is used: the lossless one costs several times more on
     * LISTs of thousands of objects, for numbers the plugin never reads. A body that is not JSON is
     * described by its type and size, never quoted (the parser's message would quote it).
     */
    private parse(target: RequestTarget, response: HttpResponse): unknown {
        try {
            return JSON.parse(response.body.toString('utf8'));
        } catch {
            const type = response.headers['content-type'] ?? 'none';
            throw new PluginError(
                'Cluster',
                `cannot ${describeRequest(target)} (HTTP ${response.status}): the response is not JSON (Content-Type ${type}, ${formatBytes(response.body.length)})`,
            );
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

    /**
     * The request of a target; for a LIST, `query` (limit, continue) and the page number: pages after the
     * first are counted as "list-page" (one logical LIST is its first request and its continued pages)
     * and named in error texts, and a 410 for them is an answer (the token expired).
     */
    private callOf(target: RequestTarget, query = '', page = 1): Call {
        const continued = target.verb === 'list' && page > 1;
        const description = describeRequest(target);
        return {
            verb: continued ? 'list-page' : target.verb,
            counted: groupResourceString(target.resource),
            namespace: target.namespace,
            name: target.name ?? '',
            path: `${apiPath(target.resource, target.namespace, target.name)}${query === '' ? '' : `?${query}`}`,
            description: continued ? `${description}, page ${page}` : description,
            ...(continued ? { answers: [410] } : {}),
        };
    }

    /**
     * One request with retries, all before `deadline`: the 2xx or 404 response, or a PluginError. An
     * attempt gets the attempt deadline or what is left of the call's, whichever is shorter; a retry
     * whose wait would end past the call's deadline is not made.
     */
    private async request(call: Call, deadline: number): Promise<HttpResponse> {
        const endpoint = await this.endpoint();
        let reauthenticated = false;
        for (let attempt = 1; ; attempt++) {
            const started = this.now();
            const left = deadline - started;
            if (left <= 0) {
                // Before the first attempt: loading the configuration (an exec credential plugin) took it all;
                // later: a wait ended late.
                const why = attempt === 1 ? `the call's deadline of ${seconds(this.deadlineMs)} passed before the first attempt` : this.outOfTime();
                throw new PluginError('Cluster', `cannot ${call.description} (deadline${attemptsNote(attempt - 1)}): ${why}`);
            }
            const cut = left < this.timeoutMs;
            let retryable: boolean;
            let failure: () => PluginError;
            let retryAfter: number | undefined;
            try {
                const response = await httpGet(endpoint, call.path, { timeoutMs: Math.min(this.timeoutMs, left), maxBodyBytes: this.maxResponseBytes });
                const { status } = response;
                this.counter.record(call.verb, call.counted, call.namespace, status, response.wireBytes);
                this.logAttempt(call, status, started, attempt);
                if (isAnswer(call, status)) return response;
                if (status === 401 && !reauthenticated && this.reauthenticate(endpoint, call, response)) {
                    reauthenticated = true;
                    continue;
                }
                if (status === 401 || status === 403) throw forbidden(call, status, statusMessage(response.body));
                retryable = isRetryableStatus(status);
                if (retryable) retryAfter = retryAfterMs(response.headers['retry-after'], this.now());
                failure = () => new PluginError('Cluster', withMessage(`cannot ${call.description} (HTTP ${status}${attemptsNote(attempt)})`, statusMessage(response.body)));
            } catch (error) {
                if (error instanceof PluginError) throw error;
                if (!(error instanceof TransportError)) {
                    throw new PluginError('Cluster', `cannot ${call.description}: the request could not be prepared: ${messageOf(error)}`, {
                        cause: error,
                    });
                }
                this.counter.record(call.verb, call.counted, call.namespace, error.code, error.wireBytes);
                this.logAttempt(call, error.code, started, attempt);
                const head = withMessage(`cannot ${call.description} (${error.code}${attemptsNote(attempt)})`, error.message);
                if (error.code === 'deadline' && cut) {
                    // The attempt ran until the call's deadline: there is no time left for anything.
                    throw new PluginError('Cluster', `${head}; ${this.outOfTime()}`, { cause: error });
                }
                retryable = isRetryableCode(error.code);
                failure = () => new PluginError('Cluster', head, { cause: error });
            }
            if (!retryable || attempt >= this.retry.attempts) throw failure();
            const wait = retryDelay(this.retry, attempt, this.random, retryAfter);
            if (this.now() + wait >= deadline) {
                const error = failure();
                throw new PluginError(error.reason, `${error.detail}; ${this.outOfTime()}`, { cause: error.cause });
            }
            await this.sleep(wait);
        }
    }

    /**
     * A 401 for an exec plugin's credential the server no longer accepts (revoked, or expired early):
     * the credential is forgotten, so that the repeated request runs the plugin again (client-go re-runs
     * it on a 401 too). True when the request is worth repeating; the caller does so once per call.
     */
    private reauthenticate(endpoint: Endpoint, call: Call, response: HttpResponse): boolean {
        if (endpoint.unauthorized?.(response.sentWith) !== true) return false;
        this.log.debug('the API server rejected the exec credential (401): running the credential plugin again', {
            verb: call.verb,
            resource: call.counted,
            namespace: call.namespace,
        });
        return true;
    }

    private outOfTime(): string {
        return `the call's deadline of ${seconds(this.deadlineMs)} leaves no time for another attempt`;
    }

    private logAttempt(call: Call, status: number | string, started: number, attempt: number): void {
        this.log.debug('API request', {
            verb: call.verb,
            resource: call.counted,
            namespace: call.namespace,
            name: call.name,
            status,
            ms: this.now() - started,
            ...(attempt > 1 ? { attempt } : {}),
        });
    }
}

/** A status the caller handles: 2xx, 404, or one the call names (410 for a continued LIST page). */
function isAnswer(call: Call, status: number): boolean {
    return (status >= 200 && status <= 299) || status === 404 || call.answers?.includes(status) === true;
}

function attemptsNote(attempt: number): string {
    return attempt > 1 ? `, ${attempt} attempts` : '';
}

function forbidden(call: Call, status: number, message: string): PluginError {
    const head = withMessage(`cannot ${call.description} (HTTP ${status})`, message);
    if (status === 401) {
        return new PluginError('Forbidden', `unauthorized: ${head}; check the plugin's credentials (service account token or kubeconfig user)`);
    }
    const verb = call.verb === 'list-page' ? 'list' : call.verb;
    const grant = verb === 'discover' ? `"get" on the non-resource URL ${call.path}` : `"${verb}" on ${call.counted}`;
    return new PluginError('Forbidden', `forbidden: ${head}; grant the plugin's identity ${grant} (see manifests/rbac)`);
}
