/**
 * Lossless JSON for Kubernetes objects. JSON.parse turns integers beyond 2^53 into approximations, and
 * a round trip through typed models drops unknown fields; neither may happen to an item we hand back to
 * Velero. Numbers whose text would not survive a round trip are kept as raw JSON text (JSON.rawJSON),
 * so they are written back byte for byte. Unknown fields are untouched because nothing here is typed.
 */

interface RawJsonApi {
    rawJSON(text: string): unknown;
    isRawJSON(value: unknown): boolean;
}

interface ReviverContext {
    source?: string;
}

const json = JSON as unknown as JSON & RawJsonApi;

function reviver(this: unknown, _key: string, value: unknown, context?: ReviverContext): unknown {
    if (typeof value === 'number' && context?.source !== undefined && String(value) !== context.source) {
        // 12345678901234567890, 1.0, 1e3: keep the exact text.
        return json.rawJSON(context.source);
    }
    return value;
}

export class InvalidJsonError extends Error {}

/** Parses JSON bytes, keeping every number's exact text where a float would change it. */
export function parseLossless(bytes: Buffer | string): unknown {
    const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
    try {
        return JSON.parse(text, reviver as (this: unknown, key: string, value: unknown) => unknown);
    } catch (error) {
        throw new InvalidJsonError(error instanceof Error ? error.message : String(error));
    }
}

/** Serialises a value produced by parseLossless (raw numbers are written verbatim). */
export function stringifyLossless(value: unknown): string {
    return JSON.stringify(value);
}

/** True for a number kept as raw text by parseLossless. */
export function isRawNumber(value: unknown): boolean {
    return json.isRawJSON(value);
}

/** A deep copy that keeps raw numbers (they are frozen, so sharing them is safe). */
export function deepClone<T>(value: T): T {
    if (Array.isArray(value)) return value.map((v: unknown) => deepClone(v)) as T;
    if (value !== null && typeof value === 'object' && !json.isRawJSON(value)) {
        const copy: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) copy[k] = deepClone(v);
        return copy as T;
    }
    return value;
}
