/**
 * A fake Kubernetes API server for the cluster reader's unit tests: a real HTTP or HTTPS server on
 * 127.0.0.1 and an ephemeral port. It serves GET and LIST for a set of objects the way the API server
 * does (list items without apiVersion/kind, Status bodies for errors), and any path can be scripted with
 * a sequence of replies (status codes, Retry-After, hanging, connection resets, gzip).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { kindToResource } from '../../../src/cluster/reader';
import type { KubeObject } from '../../../src/kube/object';
import { FIXTURES_DIR } from '../fixtures';

export type Reply =
    | { status: number; body?: unknown; headers?: Record<string, string>; gzip?: boolean }
    | { hang: true }
    | { reset: true };

export interface SeenRequest {
    method: string;
    path: string;
    authorization: string;
}

export function statusBody(code: number, reason: string, message: string): unknown {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function apiVersionParts(apiVersion: string): { prefix: string } {
    return { prefix: apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}` };
}

const CLUSTER_SCOPED = new Set(['VirtualMachineClusterInstancetype', 'VirtualMachineClusterPreference', 'Namespace']);

export class FakeApiServer {
    readonly seen: SeenRequest[] = [];
    private readonly scripted = new Map<string, Reply[]>();
    private readonly served = new Map<string, unknown>();
    private connectionCount = 0;

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

    /** Connections (TLS sessions for HTTPS) accepted so far. */
    connections(): number {
        return this.connectionCount;
    }

    requestsTo(path: string): number {
        return this.seen.filter((r) => r.path === path).length;
    }

    async close(): Promise<void> {
        this.server.closeAllConnections();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }

    private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
        const path = (req.url ?? '').split('?')[0] ?? '';
        this.seen.push({ method: req.method ?? '', path, authorization: req.headers.authorization ?? '' });
        const replies = this.scripted.get(path);
        const reply = replies && replies.length > 0 ? (replies.length > 1 ? replies.shift() : replies[0]) : this.fromServed(path);
        if (reply === undefined) return;
        if ('hang' in reply) return;
        if ('reset' in reply) {
            req.socket.destroy();
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

    private fromServed(path: string): Reply {
        const body = this.served.get(path);
        if (body !== undefined) return { status: 200, body };
        const name = path.split('/').pop() ?? '';
        return { status: 404, body: statusBody(404, 'NotFound', `"${name}" not found`) };
    }
}

/**
 * Writes a kubeconfig for `server` into a new temporary directory and returns its path. Without a CA
 * file the cluster is marked insecure-skip-tls-verify (harmless for plain http), unless
 * `insecure: false` asks for a configuration that trusts nothing special.
 */
export function writeKubeconfig(server: string, options: { token?: string; caFile?: string; insecure?: boolean } = {}): string {
    const dir = mkdtempSync(join(tmpdir(), 'kvp-kubeconfig-'));
    const file = join(dir, 'config');
    const trust = options.caFile
        ? [`    certificate-authority: ${options.caFile}`]
        : options.insecure === false
          ? []
          : ['    insecure-skip-tls-verify: true'];
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
