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
    requestOptions(): Promise<https.RequestOptions>;
    close(): void;
}

export interface HttpResponse {
    status: number;
    headers: http.IncomingHttpHeaders;
    /** The decoded body. */
    body: Buffer;
    /** Bytes read from the socket for the body (compressed size when the server used gzip). */
    wireBytes: number;
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

export async function httpGet(endpoint: Endpoint, path: string, timeoutMs: number): Promise<HttpResponse> {
    const options = await endpoint.requestOptions();
    const url = new URL(endpoint.server + path);
    const request = url.protocol === 'http:' ? http.request : https.request;
    return new Promise<HttpResponse>((resolve, reject) => {
        let settled = false;
        let wireBytes = 0;
        const fail = (error: unknown): void => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            reject(error instanceof TransportError ? error : new TransportError(codeOf(error), messageOf(error), wireBytes));
        };
        const req = request(
            url,
            {
                ...options,
                method: 'GET',
                headers: {
                    ...options.headers,
                    Accept: 'application/json',
                    'Accept-Encoding': 'gzip',
                    'User-Agent': 'kubevirt-velero-plugin',
                },
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on('data', (chunk: Buffer) => {
                    wireBytes += chunk.length;
                });
                let body: Readable = res;
                if ((res.headers['content-encoding'] ?? '').toLowerCase() === 'gzip') {
                    const gunzip = createGunzip();
                    gunzip.on('error', fail);
                    body = res.pipe(gunzip);
                }
                body.on('data', (chunk: Buffer) => chunks.push(chunk));
                body.on('end', () => {
                    if (settled) return;
                    settled = true;
                    clearTimeout(timer);
                    resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), wireBytes });
                });
                res.on('error', fail);
                res.on('aborted', () => fail(new TransportError('ECONNRESET', 'the connection closed before the response ended', wireBytes)));
            },
        );
        // The deadline runs from the moment the request has a connection (new or reused), so requests
        // queued behind the agent's connection limit are not charged for the wait.
        let timer: NodeJS.Timeout | undefined;
        req.once('socket', () => {
            if (settled) return;
            timer = setTimeout(() => {
                fail(new TransportError('deadline', `no response within ${timeoutMs} ms`, wireBytes));
                req.destroy();
            }, timeoutMs);
        });
        req.on('error', fail);
        req.end();
    });
}
