/**
 * fast-check arbitraries for JSON text, built as a tree that keeps what JavaScript values lose: key
 * order (integer-like keys included), the exact text of numbers (big integers, 1.0, -0, 1e3), and keys
 * such as __proto__, constructor and prototype. Shared by the property tests (test/unit) and the fuzz
 * suite (test/fuzz).
 */
import fc from 'fast-check';

export type Jv =
    { t: 'obj'; entries: [string, Jv][] } | { t: 'arr'; items: Jv[] } | { t: 'num'; text: string } | { t: 'str'; s: string } | { t: 'lit'; text: 'true' | 'false' | 'null' };

/** Keys that break naive JavaScript objects, keys JavaScript reorders, and odd unicode. */
export const SPECIAL_KEYS = [
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'valueOf',
    '0',
    '1',
    '42',
    '4294967295',
    '',
    ' ',
    '-1',
    '01',
    'é',
    '😀',
    '\u0000',
    '"',
    '\\',
    '<',
    '\u2028',
];

export const keyArb: fc.Arbitrary<string> = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_KEYS) },
    { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);

export const numberTextArb: fc.Arbitrary<string> = fc.oneof(
    fc.integer().map(String),
    fc.bigInt({ min: -(2n ** 90n), max: 2n ** 90n }).map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? '-0' : String(d))),
    fc.constantFrom('1.0', '2.50', '1e3', '1E-7', '-0', '0.1', '1E+400', '18446744073709551615', '9007199254740993', '-9007199254740993', '0e0'),
);

export const stringArb: fc.Arbitrary<string> = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.string({ unit: 'grapheme', maxLength: 10 }),
    fc.string({ unit: 'binary', maxLength: 10 }),
    fc.constantFrom('<script>', 'a&b', '\u2028\u2029', '\ud800', '\udfff', '😀', 'ﬀ', '\u0000\u001f', '../x', '..', '/'),
);

export const jvArb: fc.Arbitrary<Jv> = fc.letrec<{ value: Jv }>((tie) => ({
    value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.record({ t: fc.constant('num' as const), text: numberTextArb }),
        fc.record({ t: fc.constant('str' as const), s: stringArb }),
        fc.record({ t: fc.constant('lit' as const), text: fc.constantFrom('true' as const, 'false' as const, 'null' as const) }),
        fc.record({ t: fc.constant('arr' as const), items: fc.array(tie('value'), { maxLength: 5 }) }),
        fc.record({
            t: fc.constant('obj' as const),
            entries: fc.uniqueArray(fc.tuple(keyArb, tie('value')), { maxLength: 6, selector: (e) => e[0] }),
        }),
    ),
})).value;

/** A value nested `depth` levels deep around `inner`, alternating objects (with odd keys) and arrays. */
export function nest(inner: Jv, depth: number): Jv {
    let v = inner;
    for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { t: 'arr', items: [v] } : { t: 'obj', entries: [[SPECIAL_KEYS[i % SPECIAL_KEYS.length] ?? 'k', v]] };
    return v;
}

export type Style = 'canonical' | 'go';

/** Go's encoder escapes <, > and & and U+2028/9; it is what Velero sends. */
function goString(s: string): string {
    return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The JSON text of a tree: canonical (what stringifyLossless writes) or Go-style escapes with spaces. */
export function toText(v: Jv, style: Style = 'canonical'): string {
    const str = style === 'go' ? goString : (s: string): string => JSON.stringify(s);
    const sep = style === 'go' ? ', ' : ',';
    const colon = style === 'go' ? ': ' : ':';
    const write = (x: Jv): string => {
        switch (x.t) {
            case 'num':
            case 'lit':
                return x.text;
            case 'str':
                return str(x.s);
            case 'arr':
                return `[${x.items.map(write).join(sep)}]`;
            case 'obj':
                return `{${x.entries.map(([k, e]) => `${str(k)}${colon}${write(e)}`).join(sep)}}`;
        }
    };
    return write(v);
}

/** A plain JavaScript value (objects as JSON.parse makes them) into the tree, keeping insertion order. */
export function fromValue(value: unknown): Jv {
    if (value === null) return { t: 'lit', text: 'null' };
    if (value === true || value === false) return { t: 'lit', text: value ? 'true' : 'false' };
    if (typeof value === 'number') return { t: 'num', text: String(value) };
    if (typeof value === 'string') return { t: 'str', s: value };
    if (Array.isArray(value)) return { t: 'arr', items: value.map(fromValue) };
    if (typeof value === 'object') return { t: 'obj', entries: Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, fromValue(v)]) };
    return { t: 'lit', text: 'null' };
}

/** The entry list of the object at `path` (keys), or undefined when there is no object there. */
export function objectAt(root: Jv, path: readonly (string | number)[]): [string, Jv][] | undefined {
    let cur: Jv | undefined = root;
    for (const seg of path) {
        if (cur === undefined) return undefined;
        if (typeof seg === 'number') cur = cur.t === 'arr' ? cur.items[seg] : undefined;
        else cur = cur.t === 'obj' ? cur.entries.find(([k]) => k === seg)?.[1] : undefined;
    }
    return cur?.t === 'obj' ? cur.entries : undefined;
}
