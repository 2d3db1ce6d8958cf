/**
 * Test PKI and servers for the kubeconfig tests: a CA, server certificates and a client certificate
 * made with openssl at test time (nothing secret is committed), an API server that records how each
 * request authenticated, and local proxies (HTTP CONNECT/forward over TCP or TLS, SOCKS5).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { tempDir } from '../../support/temp-dir';

export interface Pki {
    dir: string;
    caFile: string;
    ca: Buffer;
    /** A CA that signed nothing the servers use. */
    otherCaFile: string;
    /** For 127.0.0.1 and localhost. */
    server: { cert: Buffer; key: Buffer };
    /** For the name kube.test only (tls-server-name). */
    named: { cert: Buffer; key: Buffer };
    /** CN=alice, signed by the CA. */
    client: { certFile: string; keyFile: string; cert: Buffer; key: Buffer };
    /** CN=bob, signed by the CA (another identity, for exec plugins). */
    client2: { cert: Buffer; key: Buffer };
}

function openssl(dir: string, args: string[]): void {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function keyAndCsr(dir: string, name: string, subject: string): void {
    openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
}

function sign(dir: string, name: string, ext: string): void {
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
}

export function makePki(): Pki {
    const dir = tempDir('kvp-pki-');
    for (const ca of ['ca', 'other-ca']) {
        openssl(dir, [
            'req',
            '-x509',
            '-newkey',
            'ec',
            '-pkeyopt',
            'ec_paramgen_curve:prime256v1',
            '-nodes',
            '-keyout',
            `${ca}.key`,
            '-out',
            `${ca}.crt`,
            '-days',
            '2',
            '-subj',
            `/CN=${ca} (unit tests)`,
            '-addext',
            'basicConstraints=critical,CA:TRUE',
            '-addext',
            'keyUsage=critical,keyCertSign',
        ]);
    }
    keyAndCsr(dir, 'server', '/CN=server');
    sign(dir, 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
    keyAndCsr(dir, 'named', '/CN=kube.test');
    sign(dir, 'named', 'subjectAltName=DNS:kube.test');
    keyAndCsr(dir, 'alice', '/CN=alice');
    sign(dir, 'alice', 'extendedKeyUsage=clientAuth');
    keyAndCsr(dir, 'bob', '/CN=bob');
    sign(dir, 'bob', 'extendedKeyUsage=clientAuth');
    const read = (f: string): Buffer => readFileSync(join(dir, f));
    return {
        dir,
        caFile: join(dir, 'ca.crt'),
        ca: read('ca.crt'),
        otherCaFile: join(dir, 'other-ca.crt'),
        server: { cert: read('server.crt'), key: read('server.key') },
        named: { cert: read('named.crt'), key: read('named.key') },
        client: { certFile: join(dir, 'alice.crt'), keyFile: join(dir, 'alice.key'), cert: read('alice.crt'), key: read('alice.key') },
        client2: { cert: read('bob.crt'), key: read('bob.key') },
    };
}

export interface Seen {
    path: string;
    authorization: string;
    /** CN of the client certificate, '' without one. */
    clientCn: string;
    headers: http.IncomingHttpHeaders;
}

const LIST = JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] });

/** An API server that answers every GET with an empty list and records how it was authenticated. */
export class RecordingServer {
    readonly seen: Seen[] = [];
    /** Authorization headers answered with 401 Unauthorized (a revoked credential). */
    readonly rejected = new Set<string>();
    private constructor(
        private readonly server: http.Server,
        readonly url: string,
    ) {}

    static async start(options: { tls?: { cert: Buffer; key: Buffer; ca: Buffer } } = {}): Promise<RecordingServer> {
        const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
            const socket = req.socket as TLSSocket;
            const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
            const cn = peer && peer.subject ? String(peer.subject.CN ?? '') : '';
            rec.seen.push({
                path: (req.url ?? '').split('?')[0] ?? '',
                authorization: req.headers.authorization ?? '',
                clientCn: socket.authorized ? cn : '',
                headers: req.headers,
            });
            if (rec.rejected.has(req.headers.authorization ?? '')) {
                res.writeHead(401, { 'Content-Type': 'application/json' });
                res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }));
                return;
            }
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.end(LIST);
        };
        const server = options.tls
            ? https.createServer({ cert: options.tls.cert, key: options.tls.key, ca: options.tls.ca, requestCert: true, rejectUnauthorized: false }, handler)
            : http.createServer(handler);
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const port = (server.address() as AddressInfo).port;
        const rec: RecordingServer = new RecordingServer(server, `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`);
        return rec;
    }

    get port(): number {
        return (this.server.address() as AddressInfo).port;
    }

    async close(): Promise<void> {
        this.server.closeAllConnections();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }
}

export interface ProxyLog {
    /** "CONNECT host:port", "GET http://host:port/path" or "SOCKS5 host:port". */
    requests: string[];
    /** Proxy-Authorization headers, or "user:pass" for SOCKS5. */
    credentials: string[];
}

function pipeBoth(a: net.Socket, b: net.Socket): void {
    a.pipe(b);
    b.pipe(a);
    a.on('error', () => b.destroy());
    b.on('error', () => a.destroy());
}

/** An HTTP proxy (CONNECT and absolute-form forwarding), over TLS when `tls` is given. */
export async function startHttpProxy(
    tls?: { cert: Buffer; key: Buffer },
    /** Host names the proxy resolves itself (names the test machine's DNS does not know). */
    hosts: Record<string, string> = {},
): Promise<{ url: string; log: ProxyLog; close(): Promise<void> }> {
    const log: ProxyLog = { requests: [], credentials: [] };
    const server = tls ? https.createServer({ cert: tls.cert, key: tls.key }) : http.createServer();
    server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        log.requests.push(`CONNECT ${req.url ?? ''}`);
        log.credentials.push(req.headers['proxy-authorization'] ?? '');
        const [host, port] = (req.url ?? '').split(':');
        const upstream = net.connect(Number(port), hosts[host ?? ''] ?? host ?? '', () => {
            socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
            if (head.length > 0) upstream.write(head);
            pipeBoth(socket, upstream);
        });
        upstream.on('error', () => socket.destroy());
    });
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
        log.requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
        log.credentials.push(req.headers['proxy-authorization'] ?? '');
        const { 'proxy-authorization': _drop, ...headers } = req.headers;
        const upstream = http.request(req.url ?? '', { method: req.method, headers }, (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
        });
        upstream.on('error', () => res.destroy());
        req.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    return {
        url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
        log,
        close: async () => {
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}

/** A SOCKS5 proxy (CONNECT only); with `auth`, it requires that username and password. */
export async function startSocks5Proxy(auth?: { user: string; pass: string }): Promise<{ url: string; log: ProxyLog; close(): Promise<void> }> {
    const log: ProxyLog = { requests: [], credentials: [] };
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
        let buf = Buffer.alloc(0);
        let stage: 'greeting' | 'auth' | 'request' | 'done' = 'greeting';
        // eslint-disable-next-line complexity -- a SOCKS5 server's state machine, one branch per protocol stage
        const onData = (chunk: Buffer): void => {
            buf = Buffer.concat([buf, chunk]);
            for (;;) {
                if (stage === 'greeting') {
                    if (buf.length < 2 || buf.length < 2 + (buf[1] ?? 0)) return;
                    const methods = [...buf.subarray(2, 2 + (buf[1] ?? 0))];
                    buf = buf.subarray(2 + (buf[1] ?? 0));
                    const method = auth ? 2 : 0;
                    if (!methods.includes(method)) {
                        socket.end(Buffer.from([5, 0xff]));
                        stage = 'done';
                        return;
                    }
                    socket.write(Buffer.from([5, method]));
                    stage = auth ? 'auth' : 'request';
                } else if (stage === 'auth') {
                    const ulen = buf[1];
                    if (ulen === undefined || buf.length < 3 + ulen) return;
                    const plen = buf[2 + ulen] ?? 0;
                    if (buf.length < 3 + ulen + plen) return;
                    const user = buf.subarray(2, 2 + ulen).toString();
                    const pass = buf.subarray(3 + ulen, 3 + ulen + plen).toString();
                    buf = buf.subarray(3 + ulen + plen);
                    log.credentials.push(`${user}:${pass}`);
                    const ok = auth !== undefined && user === auth.user && pass === auth.pass;
                    socket.write(Buffer.from([1, ok ? 0 : 1]));
                    if (!ok) {
                        socket.end();
                        stage = 'done';
                        return;
                    }
                    stage = 'request';
                } else if (stage === 'request') {
                    if (buf.length < 5) return;
                    const atyp = buf[3];
                    const addrLen = atyp === 1 ? 4 : atyp === 4 ? 16 : 1 + (buf[4] ?? 0);
                    if (buf.length < 4 + addrLen + 2) return;
                    const addr = buf.subarray(4, 4 + addrLen);
                    const host = atyp === 1 ? [...addr].join('.') : atyp === 3 ? addr.subarray(1).toString() : '::1';
                    const port = buf.readUInt16BE(4 + addrLen);
                    buf = buf.subarray(4 + addrLen + 2);
                    log.requests.push(`SOCKS5 ${host}:${port}`);
                    socket.off('data', onData);
                    const upstream = net.connect(port, host === 'localhost' ? '127.0.0.1' : host, () => {
                        socket.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
                        if (buf.length > 0) upstream.write(buf);
                        pipeBoth(socket, upstream);
                    });
                    upstream.on('error', () => socket.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])));
                    stage = 'done';
                    return;
                } else {
                    return;
                }
            }
        };
        socket.on('data', onData);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    return {
        url: `socks5://127.0.0.1:${port}`,
        log,
        close: async () => {
            for (const s of sockets) s.destroy();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}
