/**
 * A fake Kubernetes API server for the cluster reader's unit and fault tests: a real HTTP or HTTPS server
 * on 127.0.0.1 and an ephemeral port. It serves GET and LIST for a set of objects the way the API server
 * does: list items without apiVersion/kind, an empty list for a served resource without objects, a
 * NotFound Status naming an absent object, a generic 404 for a resource it does not serve, and discovery
 * (/apis, /apis/<group>/<version>) for the resources of src/kube/resources.ts minus those marked not
 * installed. Any path can be scripted with a sequence of replies (status codes, Retry-After, hanging,
 * connection resets, gzip, slow drips, huge bodies), and a fault can be put on every path at once.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { kindToResource } from '../../support/static-cluster';
import type { KubeObject } from '../../../src/kube/object';
import { R, type GroupResource } from '../../../src/kube/resources';
import { FIXTURES_DIR } from '../fixtures';
import { tempDir } from '../../support/temp-dir';

export type Reply =
    | { status: number; body?: unknown; headers?: Record<string, string>; gzip?: boolean }
    | { hang: true }
    | { reset: true }
    /** 200 and a JSON body sent `chunk` bytes every `everyMs` (the body never ends before the client gives up). */
    | { drip: { chunk: number; everyMs: number } }
    /** 200 and a valid JSON list of about `bytes` bytes, streamed (no Content-Length unless `announce`). */
    | { huge: { bytes: number; announce?: boolean } };

/** A fault on every path (discovery included) while it is set; scripted paths keep their scripts. */
export type Fault = Reply | undefined;

export interface SeenRequest {
    method: string;
    path: string;
    /** The query string without "?" ("" when none): limit and continue of a paged LIST. */
    query: string;
    authorization: string;
}

export function statusBody(code: number, reason: string, message: string): unknown {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function apiVersionParts(apiVersion: string): { prefix: string } {
    return { prefix: apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}` };
}

/** The API server's NotFound for an absent object: a Status whose details name it. */
export function objectNotFound(resource: GroupResource, name: string): unknown {
    return {
        ...(statusBody(404, 'NotFound', `${resource.resource} "${name}" not found`) as object),
        details: { name, group: resource.group, kind: resource.resource },
    };
}

const CLUSTER_SCOPED = new Set(['VirtualMachineClusterInstancetype', 'VirtualMachineClusterPreference', 'Namespace']);

export class FakeApiServer {
    readonly seen: SeenRequest[] = [];
    private readonly scripted = new Map<string, Reply[]>();
    private readonly served = new Map<string, unknown>();
    private readonly notInstalled = new Set<string>();
    private fault: Fault;
    private connectionCount = 0;
    private readonly timers = new Set<NodeJS.Timeout>();

    private constructor(
        private readonly server: http.Server,
        readonly url: string,
    ) {}

    static async start(options: { tls?: boolean; objects?: readonly KubeObject[] } = {}): Promise<FakeApiServer> {
        const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => fake.handle(req, res);
        const server = options.tls
            ? https.createServer(
                  {
                      cert: readFileSync(join(FIXTURES_DIR, 'cluster', 'fake-apiserver.crt')),
                      key: readFileSync(join(FIXTURES_DIR, 'cluster', 'fake-apiserver.key')),
                  },
                  handler,
              )
            : http.createServer(handler);
        server.on(options.tls ? 'secureConnection' : 'connection', () => {
            fake.connectionCount += 1;
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const port = (server.address() as AddressInfo).port;
        const fake: FakeApiServer = new FakeApiServer(server, `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`);
        fake.serve(options.objects ?? []);
        return fake;
    }

    /** Serves GET for each object and LIST for each (resource, namespace) and (resource, all namespaces). */
    serve(objects: readonly KubeObject[]): void {
        const lists = new Map<string, { apiVersion: string; kind: string; items: unknown[] }>();
        for (const obj of objects) {
            const apiVersion = obj.apiVersion ?? 'v1';
            const kind = obj.kind ?? '';
            const { prefix } = apiVersionParts(apiVersion);
            const plural = kindToResource(kind);
            const ns = obj.metadata?.namespace ?? '';
            const scopes = CLUSTER_SCOPED.has(kind) ? [`${prefix}/${plural}`] : [`${prefix}/namespaces/${ns}/${plural}`, `${prefix}/${plural}`];
            this.served.set(`${scopes[0]}/${obj.metadata?.name ?? ''}`, obj);
            const { apiVersion: _a, kind: _k, ...item } = obj;
            for (const path of scopes) {
                const list = lists.get(path) ?? { apiVersion, kind: `${kind}List`, items: [] };
                list.items.push(item);
                lists.set(path, list);
            }
        }
        for (const [path, list] of lists) this.served.set(path, { ...list, metadata: { resourceVersion: '1' } });
    }

    /** Scripts the replies to one path (without query): consumed in order, the last one repeats. */
    reply(path: string, ...replies: Reply[]): void {
        this.scripted.set(path, replies);
    }

    /** Sets (or clears, with undefined) a fault on every path that has no script. */
    setFault(fault: Fault): void {
        this.fault = fault;
    }

    /** The server stops serving this resource type (as if its CRD were not installed). */
    uninstall(resource: GroupResource): void {
        this.notInstalled.add(`${resource.group}/${resource.resource}`);
    }

    /** Connections (TLS sessions for HTTPS) accepted so far. */
    connections(): number {
        return this.connectionCount;
    }

    requestsTo(path: string): number {
        return this.seen.filter((r) => r.path === path).length;
    }

    async close(): Promise<void> {
        for (const timer of this.timers) clearInterval(timer);
        this.server.closeAllConnections();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }

    private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
        const [path = '', query = ''] = (req.url ?? '').split('?');
        this.seen.push({ method: req.method ?? '', path, query, authorization: req.headers.authorization ?? '' });
        const replies = this.scripted.get(path);
        const reply = replies && replies.length > 0 ? (replies.length > 1 ? replies.shift() : replies[0]) : (this.fault ?? this.fromServed(path, query));
        if (reply === undefined) return;
        if ('hang' in reply) return;
        if ('reset' in reply) {
            req.socket.destroy();
            return;
        }
        if ('drip' in reply) {
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.write('{"kind":"PodList","apiVersion":"v1","items":[');
            const timer = setInterval(() => res.write(' '.repeat(reply.drip.chunk)), reply.drip.everyMs);
            this.timers.add(timer);
            res.on('close', () => {
                clearInterval(timer);
                this.timers.delete(timer);
            });
            return;
        }
        if ('huge' in reply) {
            this.sendHuge(res, reply.huge.bytes, reply.huge.announce ?? false);
            return;
        }
        const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
        const payload = reply.gzip ? gzipSync(text) : Buffer.from(text);
        res.writeHead(reply.status, {
            'Content-Type': 'application/json',
            ...(reply.gzip ? { 'Content-Encoding': 'gzip' } : {}),
            ...reply.headers,
        });
        res.end(payload);
    }

    /** A pod list of about `bytes` bytes (1 MiB batches of filler pods), written as the socket drains. */
    private sendHuge(res: http.ServerResponse, bytes: number, announce: boolean): void {
        const head = Buffer.from('{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"first","namespace":"ns1"}}');
        const tail = Buffer.from(']}');
        const item = `,{"metadata":{"name":"filler","namespace":"ns1","annotations":{"filler":"${'x'.repeat(1000)}"}}}`;
        const batch = Buffer.from(item.repeat(Math.ceil((1024 * 1024) / item.length)));
        const batches = Math.max(1, Math.floor((bytes - head.length - tail.length) / batch.length));
        const total = head.length + tail.length + batches * batch.length;
        res.writeHead(200, { 'Content-Type': 'application/json', ...(announce ? { 'Content-Length': String(total) } : {}) });
        res.write(head);
        let sent = 0;
        const pump = (): void => {
            while (sent < batches) {
                sent += 1;
                if (!res.write(batch)) {
                    res.once('drain', pump);
                    return;
                }
            }
            if (sent === batches) res.end(tail);
        };
        res.on('close', () => {
            sent = batches + 1;
        });
        pump();
    }

    private fromServed(path: string, query: string): Reply {
        const parsed = parseApiPath(path);
        const installed = parsed !== undefined && !this.notInstalled.has(`${parsed.resource.group}/${parsed.resource.resource}`);
        const body = this.served.get(path);
        if (body !== undefined && (parsed === undefined || installed)) return { status: 200, body: parsed?.name === undefined ? page(body, query) : body };
        const discovery = this.discovery(path);
        if (discovery !== undefined) return { status: 200, body: discovery };
        if (parsed === undefined || !installed) {
            // The API server's answer for a path it does not serve.
            return { status: 404, body: statusBody(404, 'NotFound', 'the server could not find the requested resource') };
        }
        if (parsed.name === undefined) {
            return { status: 200, body: { apiVersion: parsed.groupVersion, kind: 'List', metadata: { resourceVersion: '1' }, items: [] } };
        }
        return { status: 404, body: objectNotFound(parsed.resource, parsed.name) };
    }

    private installed(): GroupResource[] {
        return Object.values(R).filter((r) => !this.notInstalled.has(`${r.group}/${r.resource}`));
    }

    /** /apis and /apis/<group>/<version> for the installed resources of named groups. */
    private discovery(path: string): unknown {
        const named = this.installed().filter((r) => r.group !== '');
        if (path === '/apis') {
            const groups = new Map<string, Set<string>>();
            for (const r of named) groups.set(r.group, (groups.get(r.group) ?? new Set()).add(r.version));
            return {
                kind: 'APIGroupList',
                apiVersion: 'v1',
                groups: [...groups].map(([name, versions]) => ({
                    name,
                    versions: [...versions].map((version) => ({ groupVersion: `${name}/${version}`, version })),
                })),
            };
        }
        const match = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
        if (!match) return undefined;
        const resources = named.filter((r) => r.group === match[1] && r.version === match[2]);
        if (resources.length === 0) return undefined;
        return {
            kind: 'APIResourceList',
            apiVersion: 'v1',
            groupVersion: `${match[1]}/${match[2]}`,
            resources: resources.map((r) => ({ name: r.resource, namespaced: r.namespaced, kind: '', verbs: ['get', 'list'] })),
        };
    }
}

/**
 * A LIST body paged as the API server pages it: with limit=N, at most N items from the offset the
 * continue token names, and metadata.continue (with remainingItemCount) while items are left.
 */
function page(body: unknown, query: string): unknown {
    const params = new URLSearchParams(query);
    const limit = Number(params.get('limit') ?? '0');
    const list = body as { metadata?: Record<string, unknown>; items?: unknown[] };
    if (!(limit > 0) || !Array.isArray(list.items)) return body;
    const offset = Number(Buffer.from(params.get('continue') ?? '', 'base64url').toString() || '0');
    const end = Math.min(offset + limit, list.items.length);
    const metadata: Record<string, unknown> = { ...list.metadata };
    if (end < list.items.length) {
        metadata['continue'] = Buffer.from(String(end)).toString('base64url');
        metadata['remainingItemCount'] = list.items.length - end;
    }
    return { ...list, metadata, items: list.items.slice(offset, end) };
}

/** The resource (one of src/kube/resources.ts), namespace and name an API path addresses, if any. */
function parseApiPath(path: string): { resource: GroupResource; groupVersion: string; namespace: string; name?: string } | undefined {
    const match = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (!match) return undefined;
    const group = match[2] ?? '';
    const version = match[1] ?? match[3] ?? '';
    const resource = Object.values(R).find((r) => r.group === group && r.version === version && r.resource === match[5]);
    if (!resource) return undefined;
    return {
        resource,
        groupVersion: group === '' ? version : `${group}/${version}`,
        namespace: match[4] ?? '',
        ...(match[6] !== undefined ? { name: decodeURIComponent(match[6]) } : {}),
    };
}
/**
 * Writes a kubeconfig for `server` into a new temporary directory and returns its path. Without a CA
 * file the cluster is marked insecure-skip-tls-verify (harmless for plain http), unless
 * `insecure: false` asks for a configuration that trusts nothing special.
 */
export function writeKubeconfig(server: string, options: { token?: string; caFile?: string; insecure?: boolean } = {}): string {
    const dir = tempDir('kvp-kubeconfig-');
    const file = join(dir, 'config');
    const trust = options.caFile ? [`    certificate-authority: ${options.caFile}`] : options.insecure === false ? [] : ['    insecure-skip-tls-verify: true'];
    const user = options.token ? ['  user:', `    token: ${options.token}`] : ['  user: {}'];
    const lines = [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: fake',
        '  cluster:',
        `    server: ${server}`,
        ...trust,
        'users:',
        '- name: plugin',
        ...user,
        'contexts:',
        '- name: fake',
        '  context:',
        '    cluster: fake',
        '    user: plugin',
        'current-context: fake',
        '',
    ];
    writeFileSync(file, lines.join('\n'));
    return file;
}

export const FAKE_CA_FILE = join(FIXTURES_DIR, 'cluster', 'fake-apiserver.crt');
