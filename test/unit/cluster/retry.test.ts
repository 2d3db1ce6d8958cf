import { backoffDelay, DEFAULT_RETRY, isRetryableCode, isRetryableStatus, retryAfterMs, retryDelay } from '../../../src/cluster/retry';

describe('backoff', () => {
    it.each([
        { retry: 1, random: 1, delay: 200 },
        { retry: 2, random: 1, delay: 400 },
        { retry: 3, random: 1, delay: 800 },
        { retry: 4, random: 1, delay: 1600 },
        { retry: 5, random: 1, delay: 2000 },
        { retry: 12, random: 1, delay: 2000 },
        { retry: 1, random: 0, delay: 100 },
        { retry: 3, random: 0, delay: 400 },
        { retry: 3, random: 0.5, delay: 600 },
        { retry: 9, random: 0, delay: 1000 },
    ])('retry $retry with jitter $random waits $delay ms', ({ retry, random, delay }) => {
        expect(backoffDelay(DEFAULT_RETRY, retry, () => random)).toBe(delay);
    });

    it('the default policy is 4 attempts, 200 ms base, 2 s cap', () => {
        expect(DEFAULT_RETRY).toEqual({ attempts: 4, baseDelayMs: 200, maxDelayMs: 2000 });
    });
});

describe('Retry-After', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    it.each([
        { header: undefined, ms: undefined },
        { header: '0', ms: 0 },
        { header: '3', ms: 3000 },
        { header: ' 7 ', ms: 7000 },
        { header: 'Thu, 01 Jan 2026 00:00:05 GMT', ms: 5000 },
        { header: 'Wed, 31 Dec 2025 23:59:00 GMT', ms: 0 },
        { header: 'soon', ms: undefined },
        { header: '-1', ms: undefined },
    ])('"$header" means $ms ms', ({ header, ms }) => {
        expect(retryAfterMs(header, now)).toBe(ms);
    });

    it.each([
        { retryAfter: 1000, delay: 1000 },
        { retryAfter: 0, delay: 0 },
        { retryAfter: 60_000, delay: 2000 },
        { retryAfter: undefined, delay: 400 },
    ])('a Retry-After of $retryAfter ms before retry 2 waits $delay ms', ({ retryAfter, delay }) => {
        expect(retryDelay(DEFAULT_RETRY, 2, () => 1, retryAfter)).toBe(delay);
    });
});

describe('what is retried', () => {
    it.each([
        [200, false],
        [400, false],
        [401, false],
        [403, false],
        [404, false],
        [409, false],
        [429, true],
        [500, true],
        [502, true],
        [503, true],
        [504, true],
    ])('HTTP %i retried: %s', (status, retried) => {
        expect(isRetryableStatus(status)).toBe(retried);
    });

    it.each([
        ['ECONNREFUSED', true],
        ['ECONNRESET', true],
        ['ETIMEDOUT', true],
        ['EPIPE', true],
        ['EAI_AGAIN', true],
        ['deadline', true],
        ['ENOTFOUND', false],
        ['DEPTH_ZERO_SELF_SIGNED_CERT', false],
        ['ERR_TLS_CERT_ALTNAME_INVALID', false],
    ])('%s retried: %s', (code, retried) => {
        expect(isRetryableCode(code)).toBe(retried);
    });
});
