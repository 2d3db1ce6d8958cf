/**
 * Property tests of the lossless JSON layer over generated JSON: every key (__proto__, constructor,
 * prototype, integer-like keys, unicode), every number's text, and the written key order survive
 * parse → clone → stringify; the size and depth bounds fail with clear messages.
 */
import fc from 'fast-check';
import { deepClone, emptyObject, InvalidJsonError, MAX_JSON_DEPTH, parseLossless, stringifyLossless } from '../../../src/kube/json';
import { jvArb, nest, SPECIAL_KEYS, toText } from '../../support/json-arbitrary';

const RUNS = 400;

describe('lossless JSON over generated values', () => {
    it('parse → stringify gives back the canonical text byte for byte', () => {
        fc.assert(
            fc.property(jvArb, (v) => {
                const text = toText(v);
                expect(stringifyLossless(parseLossless(Buffer.from(text)))).toBe(text);
            }),
            { numRuns: RUNS },
        );
    });

    it('a deep clone keeps every key, the key order and every number', () => {
        fc.assert(
            fc.property(jvArb, (v) => {
                const text = toText(v);
                expect(stringifyLossless(deepClone(parseLossless(text)))).toBe(text);
            }),
            { numRuns: RUNS },
        );
    });

    it('Go-style text (escaped <>&, spaces) parses to the same value as its canonical form', () => {
        fc.assert(
            fc.property(jvArb, (v) => {
                expect(stringifyLossless(parseLossless(toText(v, 'go')))).toBe(toText(v));
            }),
            { numRuns: RUNS },
        );
    });

    it('means to JSON.parse what the input meant', () => {
        fc.assert(
            fc.property(jvArb, (v) => {
                const text = toText(v);
                // Read back by JSON.parse, our text means what the input meant.
                expect(JSON.stringify(JSON.parse(stringifyLossless(parseLossless(text))))).toBe(JSON.stringify(JSON.parse(text)));
            }),
            { numRuns: RUNS },
        );
    });

    it('nesting up to the bound is kept; one level more is a clear error', () => {
        fc.assert(
            fc.property(jvArb, fc.integer({ min: 0, max: 40 }), (inner, extra) => {
                const depth = MAX_JSON_DEPTH - 45 + extra;
                const text = toText(nest(inner, depth));
                expect(stringifyLossless(deepClone(parseLossless(text)))).toBe(text);
            }),
            { numRuns: 20 },
        );
        const tooDeep = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
        expect(() => parseLossless(tooDeep)).toThrow(new InvalidJsonError(`nesting deeper than ${MAX_JSON_DEPTH} levels at position ${MAX_JSON_DEPTH}`));
        const hugeDepth = '{"a":'.repeat(200_000) + '1' + '}'.repeat(200_000);
        expect(() => parseLossless(hugeDepth)).toThrow(/nesting deeper than 1000 levels/);
    });
});

describe('keys JavaScript treats specially', () => {
    it.each(SPECIAL_KEYS.map((k) => [k]))('%p is an own data property after parse and clone', (key) => {
        const text = `{"a":1,${JSON.stringify(key)}:{"x":[1,2]},"z":2}`;
        const parsed = parseLossless(text) as Record<string, unknown>;
        const cloned = deepClone(parsed);
        for (const value of [parsed, cloned]) {
            expect(Object.getPrototypeOf(value)).toBeNull();
            expect(Object.getOwnPropertyDescriptor(value, key)).toMatchObject({ enumerable: true, writable: true, value: { x: [1, 2] } });
            expect(stringifyLossless(value)).toBe(text);
        }
    });

    it('a key the item lacks reads as undefined, not as something inherited', () => {
        const parsed = parseLossless('{"labels":{}}') as Record<string, Record<string, unknown>>;
        expect(parsed['labels']?.['constructor']).toBeUndefined();
        expect(parsed['labels']?.['__proto__']).toBeUndefined();
        expect('toString' in (parsed['labels'] ?? {})).toBe(false);
    });

    it('__proto__ under spec.template.metadata and nodeSelector survives the clone (the reported loss)', () => {
        const text =
            '{"kind":"VirtualMachine","spec":{"template":{"metadata":{"__proto__":{"a":"b"},"labels":{"x":"y"}},"spec":{"nodeSelector":{"__proto__":"z","constructor":"c"}}}}}';
        expect(stringifyLossless(deepClone(parseLossless(text)))).toBe(text);
    });

    it('integer-like keys keep their written place; keys added later follow', () => {
        const parsed = parseLossless('{"b":1,"10":2,"a":3,"2":4}') as Record<string, unknown>;
        expect(Object.keys(parsed)).toEqual(['2', '10', 'b', 'a']);
        parsed['new'] = 5;
        parsed['7'] = 6;
        delete parsed['a'];
        expect(stringifyLossless(parsed)).toBe('{"b":1,"10":2,"2":4,"7":6,"new":5}');
    });

    it('emptyObject has no prototype', () => {
        const o = emptyObject();
        o['__proto__'] = { polluted: true };
        expect(Object.getPrototypeOf(o)).toBeNull();
        expect(stringifyLossless(o)).toBe('{"__proto__":{"polluted":true}}');
    });
});

describe('clear errors for bad input', () => {
    it.each([
        ['', 'no JSON value (empty input)'],
        ['   ', 'unexpected end of input, expected a value at position 3'],
        ['{"a":', 'unexpected end of input, expected a value at position 5'],
        ['{"a" 1}', "unexpected '1', expected ':' at position 5"],
        ['[1,]', "unexpected ']', expected a value at position 3"],
        ['{"a":1}x', "unexpected 'x', expected end of input at position 7"],
        ['{"a":"b\u0001"}', 'control character U+0001 in a string at position 7'],
        ['{"a":"\\q"}', 'invalid escape in a string at position 5'],
        ['{"a":"abc', 'unterminated string at position 5'],
        ['{"a":01}', "unexpected '1', expected ',' or '}' at position 6"],
        ['{"a":NaN}', "unexpected 'N', expected a value at position 5"],
        ['\ufeff{}', "unexpected '\ufeff', expected a value at position 0"],
    ])('%p → %p', (text, message) => {
        expect(() => parseLossless(text)).toThrow(new InvalidJsonError(message));
    });

    it('invalid UTF-8 names the byte', () => {
        expect(() => parseLossless(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]))).toThrow(new InvalidJsonError('not valid UTF-8 (byte 6)'));
        expect(() => parseLossless(Buffer.from([0x22, 0xe2, 0x82]))).toThrow(new InvalidJsonError('not valid UTF-8 (byte 1)'));
    });

    it('input over the size bound is refused before parsing', () => {
        const huge = Buffer.alloc(64 * 1024 * 1024 + 1, 0x20);
        expect(() => parseLossless(huge)).toThrow(/^67108865 bytes, more than the limit of 67108864$/);
    });

    it('random bytes never escape as anything but InvalidJsonError', () => {
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
                try {
                    parseLossless(Buffer.from(bytes));
                } catch (error) {
                    expect(error).toBeInstanceOf(InvalidJsonError);
                }
            }),
            { numRuns: RUNS },
        );
    });

    it('truncated JSON fails with a position, never a crash', () => {
        fc.assert(
            fc.property(jvArb, fc.nat(), (v, cut) => {
                const text = toText(v);
                const prefix = text.slice(0, cut % Math.max(1, text.length));
                try {
                    parseLossless(prefix);
                } catch (error) {
                    expect(error).toBeInstanceOf(InvalidJsonError);
                    expect((error as Error).message).toMatch(/at position \d+$|empty input/);
                }
            }),
            { numRuns: RUNS },
        );
    });
});
