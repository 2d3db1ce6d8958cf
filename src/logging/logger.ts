import { writeSync } from 'node:fs';

/**
 * The plugin's one logger. It writes one JSON object per line to file descriptor 2 in the form that
 * hashicorp/go-plugin's client parses (see docs/decisions/002-own-logger.md):
 *  - string `@level` in trace|debug|info|warn|error and string `@message`;
 *  - no `@timestamp` (Velero adds its own time);
 *  - `@logSourceSetBy: "plugin"` plus `logSource`, so Velero keeps our location;
 *  - the keys `name`, `namespace`, `resource` are always strings (Velero's log counter asserts it).
 * Writes are synchronous so that no line is lost when the process exits right after a Shutdown call.
 * Nothing is ever written to stdout: that stream carries only the go-plugin handshake line.
 */

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<Level, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

/** Lines longer than go-plugin's 64 KiB reader buffer would be split and demoted to debug. */
export const MAX_LINE_BYTES = 60 * 1024;

const STRING_KEYS = new Set(['name', 'namespace', 'resource']);
const RESERVED = new Set(['@level', '@message', '@timestamp', '@logSourceSetBy', 'logSource', 'level', 'time', 'timestamp']);

export type Fields = Record<string, unknown>;
export type Sink = (line: string) => void;

export const stderrSink: Sink = (line) => {
    writeSync(2, line);
};

/**
 * Maps a logrus level name (as Velero passes it in --log-level) to ours. `warning` is logrus' spelling;
 * fatal and panic only ever mean "be quiet", so they map to error.
 */
export function parseLevel(value: string | undefined): Level | undefined {
    switch ((value ?? '').trim().toLowerCase()) {
        case 'trace':
            return 'trace';
        case 'debug':
            return 'debug';
        case 'info':
            return 'info';
        case 'warn':
        case 'warning':
            return 'warn';
        case 'error':
        case 'fatal':
        case 'panic':
            return 'error';
        default:
            return undefined;
    }
}

function fieldValue(key: string, value: unknown): unknown {
    if (STRING_KEYS.has(key)) return value === undefined || value === null ? '' : String(value);
    if (value instanceof Error) return value.message;
    if (typeof value === 'bigint') return value.toString();
    return value;
}

/** Builds one log line (with its trailing newline). Exported for tests. */
export function formatLine(level: Level, message: string, fields: Fields, source: string): string {
    const entry: Record<string, unknown> = { '@level': level, '@message': String(message) };
    for (const [key, value] of Object.entries(fields)) {
        if (value === undefined || RESERVED.has(key)) continue;
        entry[key] = fieldValue(key, value);
    }
    entry['@logSourceSetBy'] = 'plugin';
    entry['logSource'] = source;
    let line = safeStringify(entry);
    if (Buffer.byteLength(line) > MAX_LINE_BYTES) {
        const short = { '@level': level, '@message': truncate(String(message), 4096) + ' [log line truncated]' };
        line = safeStringify({ ...short, '@logSourceSetBy': 'plugin', logSource: source });
    }
    return line + '\n';
}

function truncate(text: string, max: number): string {
    return text.length > max ? text.slice(0, max) : text;
}

function safeStringify(value: unknown): string {
    try {
        return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    } catch {
        return JSON.stringify({ '@level': 'warn', '@message': 'unserialisable log entry' });
    }
}

export class Logger {
    constructor(
        private readonly threshold: Level,
        private readonly sink: Sink = stderrSink,
        private readonly bound: Fields = {},
        private readonly source = 'kubevirt-velero-plugin',
    ) {}

    /** A child logger that adds fields (for example the plugin name or the item) to every line. */
    with(fields: Fields): Logger {
        return new Logger(this.threshold, this.sink, { ...this.bound, ...fields }, this.source);
    }

    /** A child logger whose lines carry another logSource (the module that logs). */
    from(source: string): Logger {
        return new Logger(this.threshold, this.sink, this.bound, source);
    }

    get level(): Level {
        return this.threshold;
    }

    enabled(level: Level): boolean {
        return ORDER[level] >= ORDER[this.threshold];
    }

    log(level: Level, message: string, fields: Fields = {}): void {
        if (!this.enabled(level)) return;
        try {
            this.sink(formatLine(level, message, { ...this.bound, ...fields }, this.source));
        } catch {
            // A broken stderr must never take the plugin down.
        }
    }

    trace(message: string, fields?: Fields): void {
        this.log('trace', message, fields);
    }
    debug(message: string, fields?: Fields): void {
        this.log('debug', message, fields);
    }
    info(message: string, fields?: Fields): void {
        this.log('info', message, fields);
    }
    warn(message: string, fields?: Fields): void {
        this.log('warn', message, fields);
    }
    error(message: string, fields?: Fields): void {
        this.log('error', message, fields);
    }
}
