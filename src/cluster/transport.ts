/**
 * One HTTP GET against the API server with a deadline. No retries, no interpretation of the status:
 * that is src/cluster/kube.ts. The body is returned as bytes and never logged here.
 */
import http from 'node:http';
import https from 'node:https';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

/** How to reach the API server: its base URL and the options (agent, TLS, credentials) of one request. */
export interface Endpoint {
    /** The server URL without a trailing slash; API paths are appended to it (it may carry a path prefix). */
    readonly server: string;
    /** Ask for gzip-compressed responses (false: the cluster's disable-compression). Default true. */
    readonly compression?: boolean;
    requestOptions(): Promise<https.RequestOptions>;
    /**
     * The server answered 401 to a request sent with `used` (the options requestOptions gave it). When its
     * credential can be obtained afresh (an exec credential plugin), it is forgotten and true is returned:
     * a new attempt will run the plugin again (or use a credential another caller already got).
     */
    unauthorized?(used: https.RequestOptions): boolean;
    close(): void;
}

export interface HttpResponse {
    status: number;
    headers: http.IncomingHttpHeaders;
    /** The decoded body. */
    body: Buffer;
    /** Bytes read from the socket for the body (compressed size when the server used gzip). */
    wireBytes: number;
    /** The options (credentials) the request was sent with, from the endpoint's requestOptions. */
    sentWith: https.RequestOptions;
}

/** A request that got no usable HTTP response. `code` is Node's error code, or "deadline". */
export class TransportError extends Error {
    constructor(
        readonly code: string,
        message: string,
        readonly wireBytes = 0,
    ) {
        super(message);
        this.name = 'TransportError';
    }
}

// Errors from Node's core may come from another realm (a test runner's VM context), so they are
// recognised by shape, not by instanceof.
function codeOf(error: unknown): string {
    if (error !== null && typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
    return 'ERROR';
}

export function messageOf(error: unknown): string {
    if (error !== null && typeof error === 'object' && 'message' in error && typeof error.message === 'string') return error.message;
    return String(error);
}

export interface GetOptions {
    /**
     * Milliseconds from this call until the response must be complete: preparing the credentials, waiting
     * for a free connection (the agent's maxSockets), connecting and reading the body are all inside it.
     */
    timeoutMs: number;
    /** A larger body (decoded, or announced by Content-Length) fails with code "too-large". */
    maxBodyBytes: number;
}

/** "12 MiB", "512 KiB", "300 bytes". */
export function formatBytes(bytes: number): string {
    if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
    if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
    return `${bytes} bytes`;
}

export function httpGet(endpoint: Endpoint, path: string, options: GetOptions): Promise<HttpResponse> {
    const { timeoutMs, maxBodyBytes } = options;
    return new Promise<HttpResponse>((resolvePromise, rejectPromise) => {
        // Listeners outlive the request (a keep-alive socket, its parser). Once settled they must not
        // reach the promise, whose value holds the whole body: drop the references (measured: the
        // 1,000-VM backup's peak RSS 123 -> 114 MiB, docs/bench/2026-12-02-experiment-transport-release-body-1000.txt).
        let settle: { resolve: (r: HttpResponse) => void; reject: (e: unknown) => void } | undefined = {
            resolve: resolvePromise,
            reject: rejectPromise,
        };
        const resolve = (r: HttpResponse): void => {
            settle?.resolve(r);
            settle = undefined;
        };
        const reject = (e: unknown): void => {
            settle?.reject(e);
            settle = undefined;
        };
        let settled = false;
        let wireBytes = 0;
        let bodyBytes = 0;
        let phase: 'preparing' | 'queued' | 'waiting' | 'reading' = 'preparing';
        let req: http.ClientRequest | undefined;
        const fail = (error: unknown): void => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            req?.destroy();
            reject(error instanceof TransportError ? error : new TransportError(codeOf(error), messageOf(error), wireBytes));
        };
        // The deadline runs from this call: a request queued behind the agent's connection limit, or
        // waiting for an exec credential plugin, is charged for the wait.
        const timer = setTimeout(() => {
            const where = {
                preparing: 'the credentials were not ready',
                queued: 'still queued for a connection (all connections to the API server are busy)',
                waiting: 'no response headers',
                reading: `the body was incomplete (${formatBytes(wireBytes)} received)`,
            }[phase];
            fail(new TransportError('deadline', `no complete response within ${timeoutMs} ms: ${where}`, wireBytes));
        }, timeoutMs);
        // A failure before anything was sent (credentials, URL) is not a TransportError: never retried.
        const unprepared = (error: unknown): void => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            reject(error instanceof Error ? error : new Error(messageOf(error)));
        };
        const send = (requestOptions: https.RequestOptions): void => {
            if (settled) return;
            const url = new URL(endpoint.server + path);
            const request = url.protocol === 'http:' ? http.request : https.request;
            phase = 'queued';
            req = request(
                url,
                {
                    ...requestOptions,
                    method: 'GET',
                    headers: {
                        ...requestOptions.headers,
                        Accept: 'application/json',
                        // Without it Node asks for no encoding, and the server sends the body as it is.
                        ...(endpoint.compression === false ? {} : { 'Accept-Encoding': 'gzip' }),
                        'User-Agent': 'kubevirt-velero-plugin',
                    },
                },
                (res) => {
                    phase = 'reading';
                    const tooLarge = (): TransportError => new TransportError('too-large', `the response is larger than the ${formatBytes(maxBodyBytes)} limit`, wireBytes);
                    const announced = Number(res.headers['content-length'] ?? NaN);
                    const gzip = (res.headers['content-encoding'] ?? '').toLowerCase() === 'gzip';
                    if (!gzip && announced > maxBodyBytes) {
                        fail(tooLarge());
                        return;
                    }
                    const chunks: Buffer[] = [];
                    res.on('data', (chunk: Buffer) => {
                        wireBytes += chunk.length;
                    });
                    let body: Readable = res;
                    if (gzip) {
                        const gunzip = createGunzip();
                        gunzip.on('error', fail);
                        body = res.pipe(gunzip);
                    }
                    body.on('data', (chunk: Buffer) => {
                        if (settled) return;
                        bodyBytes += chunk.length;
                        // Decoded size: a small gzip body may inflate without bound.
                        if (bodyBytes > maxBodyBytes) {
                            fail(tooLarge());
                            return;
                        }
                        chunks.push(chunk);
                    });
                    body.on('end', () => {
                        if (settled) return;
                        settled = true;
                        clearTimeout(timer);
                        const whole = Buffer.concat(chunks);
                        chunks.length = 0;
                        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: whole, wireBytes, sentWith: requestOptions });
                    });
                    res.on('error', fail);
                    res.on('aborted', () => fail(new TransportError('ECONNRESET', 'the connection closed before the response ended', wireBytes)));
                },
            );
            req.once('socket', () => {
                if (phase === 'queued') phase = 'waiting';
            });
            req.on('error', fail);
            req.end();
        };
        endpoint.requestOptions().then((requestOptions) => {
            try {
                send(requestOptions);
            } catch (error) {
                unprepared(error);
            }
        }, unprepared);
    });
}
