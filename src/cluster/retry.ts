/**
 * When to retry a request to the API server and how long to wait first. Pure functions: the reader
 * passes the clock and the random source, so tests decide the jitter.
 */

export interface RetryPolicy {
    /** Attempts in total, the first one included (1 = never retry). */
    attempts: number;
    /** Ceiling of the first wait; each further wait doubles it. */
    baseDelayMs: number;
    /** No wait is longer than this, Retry-After included. */
    maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 2000 };

/** Transport failures worth another attempt: the server or the path to it may come back. */
const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'deadline']);

export function isRetryableStatus(status: number): boolean {
    return status === 429 || (status >= 500 && status <= 599);
}

export function isRetryableCode(code: string): boolean {
    return RETRYABLE_CODES.has(code);
}

/**
 * The wait before retry number `retry` (1 for the first retry): the ceiling doubles from baseDelayMs up
 * to maxDelayMs, and the wait is drawn uniformly from its upper half ("equal jitter"), so that many
 * callers failing together do not come back together, yet none retries immediately.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number): number {
    const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** A Retry-After header (delay in seconds or an HTTP date) in milliseconds from now, if it is valid. */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
    if (header === undefined) return undefined;
    const text = header.trim();
    if (/^\d+$/.test(text)) return Number(text) * 1000;
    if (/^[-+\d]/.test(text)) return undefined; // a negative or malformed number, not a date
    const date = Date.parse(text);
    if (Number.isNaN(date)) return undefined;
    return Math.max(0, date - now);
}

/** The wait before a retry: the server's Retry-After when it gave one, else backoff; never above the cap. */
export function retryDelay(policy: RetryPolicy, retry: number, random: () => number, retryAfter?: number): number {
    if (retryAfter !== undefined) return Math.min(policy.maxDelayMs, retryAfter);
    return backoffDelay(policy, retry, random);
}
