import { formatLine, Logger, MAX_LINE_BYTES, parseLevel, type Level } from '../../../src/logging/logger';

function capture(level: Level): { logger: Logger; lines: Record<string, unknown>[] } {
    const lines: Record<string, unknown>[] = [];
    const logger = new Logger(level, (line) => {
        expect(line.endsWith('\n')).toBe(true);
        expect(line.indexOf('\n')).toBe(line.length - 1);
        lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    return { logger, lines };
}

describe('log lines in the form go-plugin parses', () => {
    it('carries string @level and @message, the plugin location marker and no @timestamp', () => {
        const entry = JSON.parse(formatLine('info', 'hello', { count: 3 }, 'src/x.ts')) as Record<string, unknown>;
        expect(entry).toEqual({ '@level': 'info', '@message': 'hello', count: 3, '@logSourceSetBy': 'plugin', logSource: 'src/x.ts' });
        expect(entry).not.toHaveProperty('@timestamp');
    });

    it.each([
        ['name', 42, '42'],
        ['namespace', null, ''],
        ['resource', { a: 1 }, '[object Object]'],
        ['name', undefined, undefined],
    ])('Velero asserts %s to be a string: %p becomes %p', (key, value, expected) => {
        const entry = JSON.parse(formatLine('info', 'm', { [key]: value }, 's')) as Record<string, unknown>;
        expect(entry[key]).toBe(expected);
    });

    it('reserved keys cannot be overridden by fields', () => {
        const entry = JSON.parse(formatLine('warn', 'm', { '@level': 'error', '@message': 1, level: 'x', time: 't' }, 's')) as Record<string, unknown>;
        expect(entry['@level']).toBe('warn');
        expect(entry['@message']).toBe('m');
        expect(entry).not.toHaveProperty('level');
        expect(entry).not.toHaveProperty('time');
    });

    it('errors become their message', () => {
        const entry = JSON.parse(formatLine('error', 'm', { error: new Error('boom') }, 's')) as Record<string, unknown>;
        expect(entry['error']).toBe('boom');
    });

    it('an over-long line is shortened below go-plugin’s 64 KiB reader buffer', () => {
        const line = formatLine('info', 'x'.repeat(100_000), { blob: 'y'.repeat(100_000) }, 's');
        expect(Buffer.byteLength(line)).toBeLessThan(MAX_LINE_BYTES);
        expect((JSON.parse(line) as Record<string, unknown>)['@message']).toMatch(/\[log line truncated\]$/);
    });

    it.each([
        ['trace', ['trace', 'debug', 'info', 'warn', 'error']],
        ['info', ['info', 'warn', 'error']],
        ['error', ['error']],
    ] as [Level, Level[]][])('threshold %s emits %p', (threshold, emitted) => {
        const { logger, lines } = capture(threshold);
        logger.trace('t');
        logger.debug('d');
        logger.info('i');
        logger.warn('w');
        logger.error('e');
        expect(lines.map((l) => l['@level'])).toEqual(emitted);
    });

    it('child loggers add fields without changing the parent', () => {
        const { logger, lines } = capture('info');
        logger.with({ action: 'a' }).info('child');
        logger.info('parent');
        expect(lines[0]).toMatchObject({ action: 'a' });
        expect(lines[1]).not.toHaveProperty('action');
    });

    it('every line is in the sink when the logging call returns, the first one included (nothing lost at exit)', () => {
        const lines: string[] = [];
        const logger = new Logger('debug', (line) => lines.push(line));
        const child = logger.with({ action: 'a' });
        for (let i = 0; i < 1000; i++) {
            (i % 2 === 0 ? logger : child).debug(`line ${i}`);
            expect(lines).toHaveLength(i + 1);
        }
    });

    it.each([
        ['message', 'a field'],
        ['level', 'error'],
        ['@level', 'error'],
    ])('a field named %p cannot change the line’s level or message', (key, value) => {
        const lines: Record<string, unknown>[] = [];
        const logger = new Logger('info', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
        logger.info('the message', { [key]: value });
        expect(lines).toHaveLength(1);
        expect(lines[0]?.['@level']).toBe('info');
        expect(lines[0]?.['@message']).toBe('the message');
    });

    it('loggers with other sinks or thresholds do not share lines', () => {
        const a: string[] = [];
        const b: string[] = [];
        new Logger('info', (line) => a.push(line)).info('to a');
        new Logger('warn', (line) => b.push(line)).info('not to b');
        new Logger('debug', (line) => b.push(line)).debug('to b');
        expect(a).toHaveLength(1);
        expect(b).toHaveLength(1);
        expect(b[0]).toContain('to b');
    });

    it('a line still goes out, in the same form, when winston cannot be loaded', () => {
        const lines: string[] = [];
        jest.isolateModules(() => {
            jest.doMock('winston', () => {
                throw new Error('winston is missing');
            });
            // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy of the module under the mock
            const isolated = require('../../../src/logging/logger') as { Logger: typeof Logger };
            new isolated.Logger('info', (line) => lines.push(line)).with({ action: 'a' }).warn('still here', { name: 'vm1' });
        });
        jest.dontMock('winston');
        expect(lines).toEqual([formatLine('warn', 'still here', { action: 'a', name: 'vm1' }, 'kubevirt-velero-plugin')]);
    });

    it('a failing sink never throws into the caller', () => {
        const logger = new Logger('info', () => {
            throw new Error('EPIPE');
        });
        expect(() => logger.info('x')).not.toThrow();
    });

    it.each([
        ['warning', 'warn'],
        ['WARN', 'warn'],
        [' debug ', 'debug'],
        ['fatal', 'error'],
        ['nonsense', undefined],
        [undefined, undefined],
    ])('parseLevel(%p) = %p', (input, expected) => {
        expect(parseLevel(input)).toBe(expected);
    });
});
