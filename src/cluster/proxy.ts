/**
 * proxy-url of a kubeconfig cluster (decision 008): http, https and socks5 proxies, as client-go
 * accepts them, hand-written on node:net and node:tls (some 150 lines; no dependency).
 *
 *  - https:// API server through an http(s) proxy: a CONNECT tunnel, then TLS to the API server.
 *  - http:// API server through an http(s) proxy: requests in absolute form to the proxy (as Go's
 *    transport does), on keep-alive connections to the proxy.
 *  - socks5: a SOCKS5 CONNECT (no authentication, or username/password from the URL); the host name
 *    is sent to the proxy unresolved.
 *  - An https proxy is verified with the cluster's TLS trust (its CA, or insecure-skip-tls-verify), as
 *    Go's transport verifies it with the same TLS configuration.
 * Proxy credentials from the URL go into Proxy-Authorization or the SOCKS5 negotiation, never into a
 * message: errors name the proxy's host and port, and the status or SOCKS reply code.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';

export interface ProxyTlsTrust {
    ca?: Buffer | undefined;
    insecure: boolean;
}

const HANDSHAKE_TIMEOUT_MS = 10_000;

class ProxyError extends Error {
    readonly code: string;
    constructor(code: string, message: string) {
        super(message);
        this.code = code;
    }
}

function proxyPort(proxy: URL): number {
    if (proxy.port !== '') return Number(proxy.port);
    return proxy.protocol === 'https:' ? 443 : proxy.protocol === 'socks5:' ? 1080 : 80;
}

function proxyName(proxy: URL): string {
    return `${proxy.protocol.slice(0, -1)} proxy ${proxy.hostname}:${proxyPort(proxy)}`;
}

function proxyAuthorization(proxy: URL): string | undefined {
    if (proxy.username === '' && proxy.password === '') return undefined;
    const user = decodeURIComponent(proxy.username);
    const pass = decodeURIComponent(proxy.password);
    return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/** A connection to the proxy itself (TLS for https proxies). */
function connectToProxy(proxy: URL, trust: ProxyTlsTrust): net.Socket {
    const host = proxy.hostname.replace(/^\[|\]$/g, '');
    const port = proxyPort(proxy);
    if (proxy.protocol === 'https:') {
        return tls.connect({
            host,
            port,
            ...(net.isIP(host) ? {} : { servername: host }),
            ...(trust.ca ? { ca: trust.ca } : {}),
            rejectUnauthorized: !trust.insecure,
        });
    }
    return net.connect({ host, port });
}

/** Reads from a socket until `enough` says how many bytes the reply has; the rest is put back. */
function readReply(socket: net.Socket, enough: (data: Buffer) => number | undefined, what: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        let data = Buffer.alloc(0);
        const cleanup = (): void => {
            socket.off('data', onData);
            socket.off('error', onError);
            socket.off('end', onEnd);
        };
        const onData = (chunk: Buffer): void => {
            data = Buffer.concat([data, chunk]);
            const size = enough(data);
            if (size === undefined) {
                if (data.length > 64 * 1024) {
                    cleanup();
                    reject(new ProxyError('EPROTO', `${what}: reply too long`));
                }
                return;
            }
            cleanup();
            socket.pause();
            if (data.length > size) socket.unshift(data.subarray(size));
            resolve(data.subarray(0, size));
        };
        const onError = (error: Error): void => {
            cleanup();
            reject(error);
        };
        const onEnd = (): void => {
            cleanup();
            reject(new ProxyError('ECONNRESET', `${what}: the proxy closed the connection`));
        };
        socket.on('data', onData);
        socket.once('error', onError);
        socket.once('end', onEnd);
        socket.resume();
    });
}

async function httpConnect(socket: net.Socket, proxy: URL, host: string, port: number): Promise<void> {
    const authority = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
    const auth = proxyAuthorization(proxy);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}\r\n`);
    const head = await readReply(
        socket,
        (d) => {
            const end = d.indexOf('\r\n\r\n');
            return end < 0 ? undefined : end + 4;
        },
        `CONNECT through the ${proxyName(proxy)}`,
    );
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1'))?.[1];
    if (status === undefined || !status.startsWith('2')) {
        throw new ProxyError('EPROXY', `the ${proxyName(proxy)} refused the tunnel (${status ? `HTTP ${status}` : 'not an HTTP reply'})`);
    }
}

const SOCKS_REPLIES: Record<number, string> = {
    1: 'general failure',
    2: 'connection not allowed by ruleset',
    3: 'network unreachable',
    4: 'host unreachable',
    5: 'connection refused',
    6: 'TTL expired',
    7: 'command not supported',
    8: 'address type not supported',
};

async function socks5Connect(socket: net.Socket, proxy: URL, host: string, port: number): Promise<void> {
    const name = proxyName(proxy);
    const user = Buffer.from(decodeURIComponent(proxy.username));
    const pass = Buffer.from(decodeURIComponent(proxy.password));
    const withAuth = user.length > 0 || pass.length > 0;
    socket.write(Buffer.from(withAuth ? [5, 2, 0, 2] : [5, 1, 0]));
    const method = await readReply(socket, (d) => (d.length >= 2 ? 2 : undefined), `SOCKS5 greeting to the ${name}`);
    if (method[0] !== 5) throw new ProxyError('EPROTO', `the ${name} does not speak SOCKS5`);
    if (method[1] === 2) {
        if (!withAuth || user.length > 255 || pass.length > 255) throw new ProxyError('EPROXY', `the ${name} asks for a username and password`);
        socket.write(Buffer.concat([Buffer.from([1, user.length]), user, Buffer.from([pass.length]), pass]));
        const reply = await readReply(socket, (d) => (d.length >= 2 ? 2 : undefined), `SOCKS5 authentication with the ${name}`);
        if (reply[1] !== 0) throw new ProxyError('EPROXY', `the ${name} refused the username and password`);
    } else if (method[1] !== 0) {
        throw new ProxyError('EPROXY', `the ${name} offers no authentication method we support`);
    }
    let address: Buffer;
    if (net.isIPv4(host)) address = Buffer.from([1, ...host.split('.').map(Number)]);
    else if (net.isIPv6(host)) {
        const full = new URL(`http://[${host}]/`).hostname.slice(1, -1);
        const groups = expandIPv6(full);
        address = Buffer.concat([Buffer.from([4]), Buffer.from(groups.flatMap((g) => [g >> 8, g & 0xff]))]);
    } else {
        const bytes = Buffer.from(host);
        address = Buffer.concat([Buffer.from([3, bytes.length]), bytes]);
    }
    socket.write(Buffer.concat([Buffer.from([5, 1, 0]), address, Buffer.from([port >> 8, port & 0xff])]));
    const reply = await readReply(
        socket,
        (d) => {
            if (d.length < 5) return undefined;
            const atyp = d[3];
            const size = atyp === 1 ? 10 : atyp === 4 ? 22 : atyp === 3 ? 7 + (d[4] ?? 0) : 10;
            return d.length >= size ? size : undefined;
        },
        `SOCKS5 CONNECT through the ${name}`,
    );
    const code = reply[1] ?? 1;
    if (code !== 0) throw new ProxyError('EPROXY', `the ${name} could not connect (${SOCKS_REPLIES[code] ?? `reply ${code}`})`);
}

function expandIPv6(address: string): number[] {
    const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
    const parse = (s: string | undefined): number[] =>
        s
            ? s
                  .split(':')
                  .filter((x) => x !== '')
                  .map((x) => parseInt(x, 16))
            : [];
    const h = parse(head);
    const t = parse(tail);
    return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** Opens a tunnel through the proxy to host:port; resolves to the raw socket of the tunnel. */
export async function openTunnel(proxy: URL, trust: ProxyTlsTrust, host: string, port: number): Promise<net.Socket> {
    const socket = connectToProxy(proxy, trust);
    const timer = setTimeout(() => socket.destroy(new ProxyError('ETIMEDOUT', `no answer from the ${proxyName(proxy)} within ${HANDSHAKE_TIMEOUT_MS} ms`)), HANDSHAKE_TIMEOUT_MS);
    try {
        await new Promise<void>((resolve, reject) => {
            socket.once(proxy.protocol === 'https:' ? 'secureConnect' : 'connect', resolve);
            socket.once('error', reject);
        });
        if (proxy.protocol === 'socks5:') await socks5Connect(socket, proxy, host, port);
        else await httpConnect(socket, proxy, host, port);
        return socket;
    } catch (error) {
        socket.destroy();
        if (error instanceof ProxyError) throw error;
        const code = error !== null && typeof error === 'object' && 'code' in error && typeof error.code === 'string' ? error.code : 'ERROR';
        throw new ProxyError(code, `cannot reach the ${proxyName(proxy)} (${code})`);
    } finally {
        clearTimeout(timer);
    }
}

type ConnectCallback = (error: Error | null, socket: Duplex) => void;

interface ConnectOptions {
    host?: string | null | undefined;
    hostname?: string | null | undefined;
    port?: number | string | null | undefined;
}

function targetOf(options: ConnectOptions): { host: string; port: number } {
    const host = (options.hostname ?? options.host ?? 'localhost').replace(/^\[|\]$/g, '');
    return { host, port: Number(options.port) };
}

/**
 * An https.Agent whose connections are tunnels through the proxy (TLS to the API server inside).
 * @lazy required at first use by src/cluster/config.ts (knip cannot follow that require)
 */
export class TunnelingHttpsAgent extends https.Agent {
    constructor(
        options: https.AgentOptions,
        private readonly proxy: URL,
        private readonly trust: ProxyTlsTrust,
    ) {
        super(options);
    }

    override createConnection(options: tls.ConnectionOptions & ConnectOptions, callback?: ConnectCallback): Duplex | null | undefined {
        const { host, port } = targetOf(options);
        openTunnel(this.proxy, this.trust, host, port).then(
            (socket) => callback?.(null, tls.connect({ ...options, socket })),
            (error: Error) => callback?.(error, undefined as unknown as Duplex),
        );
        return undefined;
    }
}

/**
 * An http.Agent for a plain-http API server behind a SOCKS5 proxy: connections are tunnels.
 * @lazy required at first use by src/cluster/config.ts (knip cannot follow that require)
 */
export class TunnelingHttpAgent extends http.Agent {
    constructor(
        options: http.AgentOptions,
        private readonly proxy: URL,
        private readonly trust: ProxyTlsTrust,
    ) {
        super(options);
    }

    override createConnection(options: ConnectOptions, callback?: ConnectCallback): Duplex | null | undefined {
        const { host, port } = targetOf(options);
        openTunnel(this.proxy, this.trust, host, port).then(
            (socket) => {
                socket.resume();
                callback?.(null, socket);
            },
            (error: Error) => callback?.(error, undefined as unknown as Duplex),
        );
        return undefined;
    }
}

/**
 * An http.Agent for a plain-http API server behind an http(s) proxy: connections go to the proxy and
 * requests are sent in absolute form ("GET http://host:port/path"), with Proxy-Authorization.
 * @lazy required at first use by src/cluster/config.ts (knip cannot follow that require)
 */
export class ForwardingHttpAgent extends http.Agent {
    private readonly auth: string | undefined;

    constructor(
        options: http.AgentOptions,
        private readonly proxy: URL,
        private readonly trust: ProxyTlsTrust,
    ) {
        super(options);
        this.auth = proxyAuthorization(proxy);
    }

    /** http.Agent's (undocumented in the types) entry point for every request. */
    addRequest(req: http.ClientRequest, options: http.RequestOptions & ConnectOptions): void {
        const { host, port } = targetOf(options);
        const authority = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
        if (!req.path.startsWith('http://')) req.path = `http://${authority}${req.path}`;
        if (this.auth) req.setHeader('Proxy-Authorization', this.auth);
        // All requests share the proxy's connection pool.
        const proxied = { ...options, host: this.proxy.hostname.replace(/^\[|\]$/g, ''), port: proxyPort(this.proxy), hostname: null };
        const base = (http.Agent.prototype as unknown as { addRequest: (this: http.Agent, r: http.ClientRequest, o: unknown) => void }).addRequest;
        base.call(this, req, proxied);
    }

    override createConnection(options: ConnectOptions, callback?: ConnectCallback): Duplex | null | undefined {
        void options;
        const socket = connectToProxy(this.proxy, this.trust);
        const ready = this.proxy.protocol === 'https:' ? 'secureConnect' : 'connect';
        socket.once(ready, () => callback?.(null, socket));
        socket.once('error', (error) => callback?.(new ProxyError(codeOf(error), `cannot reach the ${proxyName(this.proxy)} (${codeOf(error)})`), socket));
        return undefined;
    }
}

function codeOf(error: unknown): string {
    return error !== null && typeof error === 'object' && 'code' in error && typeof error.code === 'string' ? error.code : 'ERROR';
}

/** An IPv4 or IPv6 address in a CIDR block ("10.0.0.0/8", "fd00::/8"). */
function inCidr(ip: string, cidr: string): boolean {
    const [base, bitsText] = cidr.split('/');
    const bits = Number(bitsText);
    if (base === undefined || !Number.isInteger(bits) || net.isIP(base) !== net.isIP(ip) || net.isIP(ip) === 0) return false;
    const list = new net.BlockList();
    list.addSubnet(base, bits, net.isIPv6(base) ? 'ipv6' : 'ipv4');
    return list.check(ip, net.isIPv6(ip) ? 'ipv6' : 'ipv4');
}

/**
 * The proxy client-go would use when the kubeconfig sets no proxy-url: Go's ProxyFromEnvironment
 * (HTTPS_PROXY for https servers, HTTP_PROXY for http ones, upper case first; NO_PROXY with host names,
 * domain suffixes, IPs, CIDR blocks, optional ports and "*"; loopback servers never proxied).
 */
// eslint-disable-next-line complexity -- Go's ProxyFromEnvironment, rule for rule (NO_PROXY forms, ports, loopback)
export function proxyFromEnvironment(server: string, env: Record<string, string | undefined>): URL | undefined {
    const url = new URL(server);
    const pick = (...keys: string[]): string => keys.map((k) => env[k] ?? '').find((v) => v !== '') ?? '';
    const raw = url.protocol === 'https:' ? pick('HTTPS_PROXY', 'https_proxy') : pick('HTTP_PROXY', 'http_proxy');
    if (raw === '') return undefined;
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (host === 'localhost' || (net.isIPv4(host) && host.startsWith('127.')) || host === '::1') return undefined;
    const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
    for (const entry of pick('NO_PROXY', 'no_proxy')
        .split(',')
        .map((e) => e.trim().toLowerCase())) {
        if (entry === '') continue;
        if (entry === '*') return undefined;
        if (entry.includes('/')) {
            if (inCidr(host, entry)) return undefined;
            continue;
        }
        let name = entry.replace(/^\*\./, '.');
        let entryPort = '';
        const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
        if (m) {
            name = (m[1] ?? '').replace(/^\[|\]$/g, '');
            entryPort = m[2] ?? '';
        }
        if (entryPort !== '' && entryPort !== port) continue;
        if (net.isIP(name) !== 0) {
            if (name === host) return undefined;
            continue;
        }
        const suffix = name.startsWith('.') ? name : `.${name}`;
        if (host === name.replace(/^\./, '') && !name.startsWith('.')) return undefined;
        if (host.endsWith(suffix)) return undefined;
    }
    try {
        const proxy = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
        return ['http:', 'https:', 'socks5:'].includes(proxy.protocol) && proxy.hostname !== '' ? proxy : undefined;
    } catch {
        return undefined;
    }
}
