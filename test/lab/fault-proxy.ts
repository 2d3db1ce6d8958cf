/**
 * A fault-injecting HTTPS proxy in front of the lab's kube-apiserver, for the plugin only (the velero
 * server keeps talking to the apiserver directly). It terminates TLS with the apiserver's own serving
 * certificate (so a kubeconfig that trusts the apiserver trusts the proxy), forwards every request
 * upstream with the lab's admin client certificate, and can
 *  - add latency to every forwarded request (to spread a fast backup over time),
 *  - answer every request with a fault instead (500 with a Status body, a reset, or no answer),
 *  - call a hook on each request before it decides (to start a fault at a chosen moment); a hook that
 *    returns a promise holds a forwarded request until it settles (to change the cluster in between).
 * Every request is recorded with its time, path and what was answered.
 */
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export type ProxyFault = { status: number; message: string } | { reset: true } | { hang: true };

export interface ProxiedRequest {
    /** Milliseconds since the proxy started. */
    at: number;
    path: string;
    /** The HTTP status sent, or "reset"/"hang"/"error". */
    outcome: number | string;
    injected: boolean;
}

export interface FaultProxyOptions {
    upstream: string;
    /** CA of the upstream's serving certificate, and the client certificate to present to it. */
    upstreamCa: string;
    clientCert: string;
    clientKey: string;
    /** The certificate and key the proxy serves with. */
    servingCert: string;
    servingKey: string;
    latencyMs?: number;
}

export class FaultProxy {
    readonly requests: ProxiedRequest[] = [];
    fault: ProxyFault | undefined;
    latencyMs: number;
    /** Called with each request's path before the proxy decides what to answer; a returned promise holds the forwarding. */
    onRequest: ((path: string) => void | Promise<void>) | undefined;
    private readonly started = Date.now();
    private readonly agent: https.Agent;
    private readonly upstream: URL;

    private constructor(
        private readonly server: https.Server,
        options: FaultProxyOptions,
        readonly url: string,
    ) {
        this.latencyMs = options.latencyMs ?? 0;
        this.upstream = new URL(options.upstream);
        this.agent = new https.Agent({
            keepAlive: true,
            ca: readFileSync(options.upstreamCa),
            cert: readFileSync(options.clientCert),
            key: readFileSync(options.clientKey),
        });
    }

    static async start(options: FaultProxyOptions): Promise<FaultProxy> {
        const server = https.createServer({ cert: readFileSync(options.servingCert), key: readFileSync(options.servingKey) });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const proxy = new FaultProxy(server, options, `https://127.0.0.1:${(server.address() as AddressInfo).port}`);
        server.on('request', (req, res) => proxy.handle(req, res));
        return proxy;
    }

    /** Milliseconds since the proxy started. */
    now(): number {
        return Date.now() - this.started;
    }

    async close(): Promise<void> {
        this.server.closeAllConnections();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
        this.agent.destroy();
    }

    private record(path: string, outcome: number | string, injected: boolean): void {
        this.requests.push({ at: this.now(), path, outcome, injected });
    }

    private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
        const path = req.url ?? '/';
        const hold = this.onRequest?.(path);
        const fault = this.fault;
        if (fault !== undefined) {
            if ('hang' in fault) {
                this.record(path, 'hang', true);
                return;
            }
            if ('reset' in fault) {
                this.record(path, 'reset', true);
                req.socket.destroy();
                return;
            }
            this.record(path, fault.status, true);
            res.writeHead(fault.status, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: fault.message, code: fault.status }));
            return;
        }
        setTimeout(() => {
            if (hold === undefined) this.forward(req, res, path);
            else
                hold.then(
                    () => this.forward(req, res, path),
                    () => res.destroy(),
                );
        }, this.latencyMs);
    }

    private forward(req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
        const headers = { ...req.headers };
        delete headers['host'];
        delete headers['authorization'];
        const upstream = https.request(
            { protocol: 'https:', hostname: this.upstream.hostname, port: this.upstream.port, path, method: req.method, headers, agent: this.agent },
            (answer) => {
                this.record(path, answer.statusCode ?? 0, false);
                res.writeHead(answer.statusCode ?? 502, answer.headers);
                answer.pipe(res);
            },
        );
        upstream.on('error', () => {
            this.record(path, 'error', false);
            res.destroy();
        });
        req.pipe(upstream);
    }
}
