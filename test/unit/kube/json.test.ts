import { deepClone, isRawNumber, parseLossless, stringifyLossless } from '../../../src/kube/json';

describe('lossless JSON for items', () => {
    it.each([
        ['integers beyond 2^53', '{"a":12345678901234567890,"b":-9007199254740993}'],
        ['floats written with a trailing zero', '{"a":1.0,"b":[2.50]}'],
        ['exponents', '{"a":1e3,"b":1E-7}'],
        ['negative zero', '{"a":-0}'],
        ['plain values', '{"a":1,"b":"x","c":true,"d":null,"e":[1,2,{"f":0.5}]}'],
    ])('%s survive a round trip byte for byte', (_name, text) => {
        expect(stringifyLossless(parseLossless(text))).toBe(text);
    });

    it('keeps safe integers as numbers', () => {
        const value = parseLossless('{"a":42}') as Record<string, unknown>;
        expect(value['a']).toBe(42);
        expect(isRawNumber(value['a'])).toBe(false);
    });

    it('marks unsafe integers as raw text', () => {
        const value = parseLossless('{"a":12345678901234567890}') as Record<string, unknown>;
        expect(isRawNumber(value['a'])).toBe(true);
    });

    it('a deep clone is independent of the original and keeps raw numbers', () => {
        const original = parseLossless('{"m":{"labels":{"a":"1"}},"n":12345678901234567890}') as Record<string, Record<string, unknown>>;
        const copy = deepClone(original);
        (copy['m'] as Record<string, Record<string, string>>)['labels']!['a'] = '2';
        expect(stringifyLossless(original)).toBe('{"m":{"labels":{"a":"1"}},"n":12345678901234567890}');
        expect(stringifyLossless(copy)).toBe('{"m":{"labels":{"a":"2"}},"n":12345678901234567890}');
    });

    it.each([[''], ['not json'], ['{"a":']])('invalid JSON %p throws', (text) => {
        expect(() => parseLossless(text)).toThrow();
    });
});
