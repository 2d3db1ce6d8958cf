/**
 * Lossless JSON for Kubernetes objects. Nothing an item carries may change on its way through the
 * plugin:
 * - numbers whose text would not survive a float round trip (12345678901234567890, 1.0, -0, 1e3) are
 *   kept as raw JSON text (JSON.rawJSON) and written back byte for byte;
 * - every key is an own data property of an object with no prototype, so `__proto__`, `constructor`
 *   and `prototype` are ordinary keys (the API server keeps them in preserve-unknown-fields places),
 *   and a key the item lacks never reads as something inherited;
 * - key order is kept: JavaScript lists integer-like keys ("1", "42") first, so an object that has
 *   them remembers the order it was written in, and stringifyLossless writes that order back;
 * - unknown fields are untouched because nothing here is typed.
 * The parser is a single left-to-right pass with an explicit stack (linear time, no recursion) and
 * enforces bounds on size and nesting, so hostile input fails with a clear message instead of
 * exhausting the stack or the heap.
 *
 * Fast paths (docs/decisions/019-restore-call-cost.md): that parser runs in JavaScript, which the
 * executable interprets (V8 --lite-mode), at some 10-20x the cost of the native JSON.parse. Most items
 * need none of what it adds: parseLossless first proves with two regular-expression scans that the
 * text has no number that a float would change, no key that is integer-like or `__proto__` and no key
 * written with an escape (Node 24.21's JSON.parse can return another escaped key for it, see
 * hasEscapedKey), then
 * lets JSON.parse build the value and gives every object a null prototype (checking the nesting bound
 * on the way); any doubt, and any invalid text, goes to the exact parser, which also makes the error
 * messages. stringifyLossless uses the native JSON.stringify while no object with a remembered key
 * order exists in the process; both give the same bytes for every value parseLossless makes.
 */
import { isUtf8 } from 'node:buffer';

interface RawJsonApi {
    rawJSON(text: string): unknown;
    isRawJSON(value: unknown): boolean;
}

const json = JSON as unknown as JSON & RawJsonApi;

/** Largest item accepted, in bytes (the API server stores objects of ~1.5 MiB; generous headroom). */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;
/** Deepest nesting accepted (objects and arrays). Go's encoding/json allows 10,000; Kubernetes objects use tens. */
export const MAX_JSON_DEPTH = 1000;

export class InvalidJsonError extends Error {}

/** The written order of an object's keys, kept only for objects with integer-like keys. */
const KEY_ORDER = Symbol('kvp.keyOrder');

type JsonObject = Record<string, unknown> & { [KEY_ORDER]?: string[] };

/** An object with no prototype: every key, `__proto__` included, is an own data property. */
export function emptyObject(): Record<string, unknown> {
    return Object.create(null) as Record<string, unknown>;
}

/** "0", "42" (canonical array indices): the keys JavaScript lists before all others. */
function isIndexLike(key: string): boolean {
    const n = key.length;
    if (n === 0 || n > 10) return false;
    const first = key.charCodeAt(0);
    if (first < 48 || first > 57 || (first === 48 && n > 1)) return false;
    for (let i = 1; i < n; i++) {
        const c = key.charCodeAt(i);
        if (c < 48 || c > 57) return false;
    }
    return Number(key) < 4294967295;
}

/**
 * Whether an object with a remembered key order was ever made in this process: until then every value
 * the plugin handles has its keys in JavaScript's order, so JSON.stringify writes what `write` writes.
 * (Velero starts a process per backup or restore; one item with integer-like keys only makes the rest
 * of that process take the slower writer.)
 */
let keyOrderRemembered = false;

function rememberOrder(obj: JsonObject, keys: string[]): void {
    keyOrderRemembered = true;
    Object.defineProperty(obj, KEY_ORDER, { value: keys, enumerable: false, writable: true, configurable: true });
}

interface Frame {
    /** The container being filled. */
    value: JsonObject | unknown[];
    isArray: boolean;
    /** The key whose value is being parsed (objects). */
    key: string;
    /** Keys in written order, while the object has an integer-like key. */
    order: string[] | undefined;
    sawIndexKey: boolean;
}

function describeChar(text: string, at: number): string {
    if (at >= text.length) return 'end of input';
    const c = text.charCodeAt(at);
    if (c < 0x20 || c === 0x7f) return `control character U+${c.toString(16).padStart(4, '0').toUpperCase()}`;
    return `'${String.fromCodePoint(text.codePointAt(at) ?? c)}'`;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
// eslint-disable-next-line no-control-regex -- JSON forbids raw control characters inside strings: this finds them
const PLAIN_STRING_END = /["\\\u0000-\u001f]/g;

class Parser {
    private pos = 0;

    constructor(private readonly text: string) {}

    private fail(problem: string, at = this.pos): never {
        throw new InvalidJsonError(`${problem} at position ${at}`);
    }

    private unexpected(expected: string): never {
        this.fail(`unexpected ${describeChar(this.text, this.pos)}, expected ${expected}`);
    }

    private skipSpace(): void {
        const t = this.text;
        let p = this.pos;
        for (;;) {
            const c = t.charCodeAt(p);
            if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
            else break;
        }
        this.pos = p;
    }

    private string(): string {
        // this.pos is at the opening quote.
        const t = this.text;
        const start = this.pos + 1;
        PLAIN_STRING_END.lastIndex = start;
        const m = PLAIN_STRING_END.exec(t);
        if (m === null) this.fail('unterminated string', this.pos);
        if (m[0] === '"') {
            this.pos = m.index + 1;
            return t.slice(start, m.index);
        }
        // Escapes or control characters: find the real end, let the native parser decode and validate.
        let p = m.index;
        for (;;) {
            const c = t.charCodeAt(p);
            if (Number.isNaN(c)) this.fail('unterminated string', start - 1);
            if (c === 0x22) break;
            if (c < 0x20) this.fail(`${describeChar(t, p)} in a string`, p);
            p += c === 0x5c ? 2 : 1;
        }
        const token = t.slice(start - 1, p + 1);
        let decoded: unknown;
        try {
            decoded = JSON.parse(token);
        } catch {
            this.fail('invalid escape in a string', start - 1);
        }
        this.pos = p + 1;
        return decoded as string;
    }

    private number(): unknown {
        NUMBER.lastIndex = this.pos;
        const m = NUMBER.exec(this.text);
        if (m === null) this.unexpected('a value');
        const token = m[0];
        this.pos += token.length;
        const value = Number(token);
        // 12345678901234567890, 1.0, 1e3, -0: keep the exact text.
        return String(value) === token ? value : json.rawJSON(token);
    }

    private literal(word: string, value: unknown): unknown {
        if (this.text.startsWith(word, this.pos)) {
            this.pos += word.length;
            return value;
        }
        return this.unexpected('a value');
    }

    // eslint-disable-next-line complexity -- one loop over every JSON token with an explicit stack (no recursion, so depth cannot overflow the call stack); splitting it would cost a call per token
    parse(): unknown {
        const t = this.text;
        const stack: Frame[] = [];
        let result: unknown;
        let value: unknown;
        for (;;) {
            // Parse one value (or open a container).
            this.skipSpace();
            const c = t.charCodeAt(this.pos);
            let opened: Frame | undefined;
            if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
                if (stack.length >= MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
                const isArray = c === 0x5b;
                this.pos++;
                opened = { value: isArray ? [] : emptyObject(), isArray, key: '', order: undefined, sawIndexKey: false };
                this.skipSpace();
                const close = t.charCodeAt(this.pos);
                if (close === (isArray ? 0x5d : 0x7d)) {
                    this.pos++;
                    value = opened.value;
                } else {
                    stack.push(opened);
                    if (!isArray) this.key(opened);
                    continue;
                }
            } else if (c === 0x22) value = this.string();
            else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) value = this.number();
            else if (c === 0x74) value = this.literal('true', true);
            else if (c === 0x66) value = this.literal('false', false);
            else if (c === 0x6e) value = this.literal('null', null);
            else this.unexpected('a value');

            // Store the value, then close every container that ends here.
            for (;;) {
                const frame = stack[stack.length - 1];
                if (frame === undefined) {
                    result = value;
                    this.skipSpace();
                    if (this.pos < t.length) this.unexpected('end of input');
                    return result;
                }
                if (frame.isArray) (frame.value as unknown[]).push(value);
                else (frame.value as JsonObject)[frame.key] = value;
                this.skipSpace();
                const next = t.charCodeAt(this.pos);
                if (next === 0x2c /* , */) {
                    this.pos++;
                    if (!frame.isArray) this.key(frame);
                    break;
                }
                if (next === (frame.isArray ? 0x5d : 0x7d)) {
                    this.pos++;
                    stack.pop();
                    if (frame.order !== undefined) rememberOrder(frame.value as JsonObject, dedupe(frame.order));
                    value = frame.value;
                    continue;
                }
                this.unexpected(frame.isArray ? "',' or ']'" : "',' or '}'");
            }
        }
    }

    /** Reads `"key":` into the frame. */
    private key(frame: Frame): void {
        this.skipSpace();
        if (this.text.charCodeAt(this.pos) !== 0x22) this.unexpected('a string key');
        const key = this.string();
        this.skipSpace();
        if (this.text.charCodeAt(this.pos) !== 0x3a) this.unexpected("':'");
        this.pos++;
        frame.key = key;
        if (frame.order !== undefined) frame.order.push(key);
        else if (isIndexLike(key)) {
            // From here on the object's written order differs from JavaScript's: record it.
            frame.order = [...Object.keys(frame.value), key];
        }
    }
}

/** Duplicate keys: the first position wins, as in JSON.parse (and the last value). */
function dedupe(keys: string[]): string[] {
    const seen = new Set<string>();
    return keys.filter((k) => (seen.has(k) ? false : (seen.add(k), true)));
}

/**
 * Parses JSON bytes: objects without prototypes, every number's exact text kept where a float would
 * change it. Throws InvalidJsonError (with the position) on invalid JSON, invalid UTF-8, or input
 * beyond MAX_JSON_BYTES / MAX_JSON_DEPTH.
 */
export function parseLossless(bytes: Buffer | string): unknown {
    let text: string;
    if (typeof bytes === 'string') {
        if (bytes.length > MAX_JSON_BYTES) throw new InvalidJsonError(`${bytes.length} characters, more than the limit of ${MAX_JSON_BYTES}`);
        text = bytes;
    } else {
        if (bytes.length > MAX_JSON_BYTES) throw new InvalidJsonError(`${bytes.length} bytes, more than the limit of ${MAX_JSON_BYTES}`);
        if (!isUtf8(bytes)) throw new InvalidJsonError(`not valid UTF-8 (byte ${firstInvalidUtf8(bytes)})`);
        text = bytes.toString('utf8');
    }
    if (text.length === 0) throw new InvalidJsonError('no JSON value (empty input)');
    const fast = parseNative(text);
    return fast === NOT_PARSED ? new Parser(text).parse() : fast;
}

/** The exact parser alone, without the native fast path (tests compare the two). */
export function parseLosslessExact(text: string): unknown {
    if (text.length === 0) throw new InvalidJsonError('no JSON value (empty input)');
    return new Parser(text).parse();
}

const NOT_PARSED = Symbol('kvp.notParsed');

/**
 * The text up to and including the next string token, and whether a colon follows that token (a key).
 * Sticky (y): each match starts exactly where the previous one ended, so a quote inside a string never
 * starts a token (between tokens JSON has no quotes), and a text that does not tokenize stops the scan
 * (JSON.parse then rejects it). Unrolled form: one pass over the text, whatever it holds.
 */
const STRING_TOKEN = /[^"]*("[^"\\]*(?:\\.[^"\\]*)*")(\s*:)?/y;

/**
 * True when a key is written with an escape ("\"", "\u0000"). V8 13.6 (Node 24.21) has been seen to give
 * such a key the name of another escaped key it parsed before ({"\"":1} read back as {"\\":1} once the
 * process had parsed that; test/unit/kube/json.fastpath.test.ts): JSON.parse is then not exact, so
 * these texts go to the exact parser.
 */
function hasEscapedKey(text: string): boolean {
    if (!text.includes('\\')) return false;
    STRING_TOKEN.lastIndex = 0;
    for (let m = STRING_TOKEN.exec(text); m !== null; m = STRING_TOKEN.exec(text)) {
        if (m[2] !== undefined && (m[1] as string).includes('\\')) return true;
    }
    return false;
}

/**
 * A key JSON.parse would not leave in written order ("0", "42": JavaScript lists them first) or that
 * is `__proto__`, written plainly; and any \u escape that could spell a character of one (a digit, "_",
 * "p", "r", "o", "t"). Matches inside string values too: those only cost the exact parser.
 */
const SPECIAL_KEY = /"(?:\d+|__proto__)"\s*:|\\u00(?:3\d|5f|6f|7[0-4])/i;

/**
 * A number token that is not a plain integer of at most 15 digits (those always survive a float round
 * trip): a fraction or an exponent, -0, or 16 digits and more. A token of JSON always stands between
 * one of `:,[` and one of `,}]` (with white space); text inside strings that looks the same is found
 * too and only checked for nothing.
 */
const NON_PLAIN_NUMBER = /[:,[]\s*(-0|-?\d+[.eE][-+.\deE]*|-?\d{16,})(?=\s*[,}\]])/g;

/**
 * JSON.parse, when it provably builds what the exact parser builds: the text is an object or array
 * whose numbers all keep their text as floats and whose keys are neither integer-like nor
 * `__proto__`. The objects get null prototypes and the nesting bound is checked as the exact parser
 * does. NOT_PARSED: anything else, invalid JSON included (the exact parser then says what is wrong).
 */
function parseNative(text: string): unknown {
    const first = text.charCodeAt(0);
    if (first !== 0x7b && first !== 0x5b) return NOT_PARSED;
    if (SPECIAL_KEY.test(text)) return NOT_PARSED;
    if (hasEscapedKey(text)) return NOT_PARSED;
    NON_PLAIN_NUMBER.lastIndex = 0;
    for (let m = NON_PLAIN_NUMBER.exec(text); m !== null; m = NON_PLAIN_NUMBER.exec(text)) {
        const token = m[1] as string;
        if (String(Number(token)) !== token) return NOT_PARSED;
    }
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        return NOT_PARSED;
    }
    return adopt(value, 1) ? value : NOT_PARSED;
}

/**
 * Gives every object of a JSON.parse result a null prototype (as the exact parser makes them); false
 * when a container is nested deeper than MAX_JSON_DEPTH (the recursion stops there).
 */
function adopt(value: unknown, depth: number): boolean {
    if (typeof value !== 'object' || value === null) return true;
    if (depth > MAX_JSON_DEPTH) return false;
    if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!adopt(value[i], depth + 1)) return false;
        return true;
    }
    Object.setPrototypeOf(value, null);
    const obj = value as Record<string, unknown>;
    for (const key in obj) if (!adopt(obj[key], depth + 1)) return false;
    return true;
}

/** Offset of the first byte that breaks UTF-8 (for the error message only; input known to be invalid). */
function firstInvalidUtf8(bytes: Buffer): number {
    let i = 0;
    while (i < bytes.length) {
        const b = bytes[i]!;
        const size = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
        if (size === 0 || !isUtf8(bytes.subarray(i, i + size))) return i;
        i += size;
    }
    return i;
}

/** Keys of an object in the order they were written (parsed order, then keys added later). */
function orderedKeys(obj: JsonObject): string[] {
    const own = Object.keys(obj);
    const order = obj[KEY_ORDER];
    if (order === undefined) return own;
    const present = new Set(own);
    const keys = order.filter((k) => present.has(k));
    if (keys.length === own.length) return keys;
    const listed = new Set(keys);
    for (const k of own) if (!listed.has(k)) keys.push(k);
    return keys;
}

function write(value: unknown, inArray: boolean): string | undefined {
    switch (typeof value) {
        case 'string':
            return JSON.stringify(value);
        case 'number':
            return Number.isFinite(value) ? String(value) : 'null';
        case 'boolean':
            return value ? 'true' : 'false';
        case 'bigint':
            return value.toString();
        case 'object': {
            if (value === null) return 'null';
            if (json.isRawJSON(value)) return (value as { rawJSON: string }).rawJSON;
            if (Array.isArray(value)) {
                let out = '[';
                for (let i = 0; i < value.length; i++) {
                    if (i > 0) out += ',';
                    out += write(value[i], true);
                }
                return out + ']';
            }
            const obj = value as JsonObject;
            let out = '{';
            let first = true;
            for (const key of orderedKeys(obj)) {
                const text = write(obj[key], false);
                if (text === undefined) continue;
                out += first ? '' : ',';
                first = false;
                out += JSON.stringify(key) + ':' + text;
            }
            return out + '}';
        }
        default:
            // undefined, functions, symbols: omitted from objects, null in arrays (as JSON.stringify).
            return inArray ? 'null' : undefined;
    }
}

/** Serialises a value produced by parseLossless: raw numbers verbatim, keys in their written order. */
export function stringifyLossless(value: unknown): string {
    if (!keyOrderRemembered) {
        // Same bytes as `write` (raw numbers are written verbatim by both); a bigint makes it throw.
        try {
            return JSON.stringify(value) ?? 'null';
        } catch {
            // fall through to the exact writer
        }
    }
    return write(value, false) ?? 'null';
}

/** stringifyLossless without the native fast path (tests compare the two). */
export function stringifyLosslessExact(value: unknown): string {
    return write(value, false) ?? 'null';
}

/** True for a number kept as raw text by parseLossless. */
export function isRawNumber(value: unknown): boolean {
    return json.isRawJSON(value);
}

/**
 * A deep copy that keeps every key (own data properties on prototype-less objects, `__proto__`
 * included), the written key order and raw numbers (they are frozen, so sharing them is safe).
 */
export function deepClone<T>(value: T): T {
    if (Array.isArray(value)) return value.map((v: unknown) => deepClone(v)) as T;
    if (value !== null && typeof value === 'object' && !json.isRawJSON(value)) {
        const source = value as JsonObject;
        const copy = emptyObject() as JsonObject;
        for (const k of Object.keys(source)) copy[k] = deepClone(source[k]);
        const order = source[KEY_ORDER];
        if (order !== undefined) rememberOrder(copy, [...order]);
        return copy as T;
    }
    return value;
}
