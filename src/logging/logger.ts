import { writeSync } from 'node:fs';
import type * as WinstonModule from 'winston';
import type { LogEntry, Logger as Winston } from 'winston';
import type TransportStream from 'winston-transport';

/**
 * The plugin's one logger, built on winston (docs/decisions/017-winston-logger.md). It writes one JSON
 * object per line to file descriptor 2 in the form that hashicorp/go-plugin's client parses:
 *  - string `@level` in trace|debug|info|warn|error and string `@message`;
 *  - no `@timestamp` (Velero adds its own time);
 *  - `@logSourceSetBy: "plugin"` plus `logSource`, so Velero keeps our location;
 *  - the keys `name`, `namespace`, `resource` are always strings (Velero's log counter asserts it).
 * The line is made by a winston format (`hclogLine`) and written by a transport whose `log()` calls
 * `fs.writeSync`: every line is in the pipe when the logging call returns, so none is lost when the
 * process exits right after a Shutdown call. Nothing is ever written to stdout: that stream carries only
 * the go-plugin handshake line.
 *
 * Levels (one rule, README "Logging"): debug — the one start-of-call line per call and routine per-item
 * detail; info — each decision that changes what Velero backs up or restores (an item skipped, a field
 * rewritten, a knob applied, a fallback taken); warn — a degraded outcome the operator should act on;
 * error — only the process itself (server, transport, worker), never an action core: a failed call
 * returns its PluginError to Velero, which logs it.
 */

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** winston's convention: the lower the number, the more severe. */
const LEVELS: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

/** Lines longer than go-plugin's 64 KiB reader buffer would be split and demoted to debug. */
export const MAX_LINE_BYTES = 60 * 1024;

const DEFAULT_SOURCE = 'kubevirt-velero-plugin';
const STRING_KEYS = new Set(['name', 'namespace', 'resource']);
const RESERVED = new Set(['@level', '@message', '@timestamp', '@logSourceSetBy', 'logSource', 'level', 'time', 'timestamp']);

/** triple-beam's keys: the finished line a transport writes, and the level winston filters on. */
const MESSAGE = Symbol.for('message');
/** Our fields travel under a symbol, so that none of them can collide with winston's `level`/`message`. */
const FIELDS = Symbol('kvp.fields');

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
    // Any value becomes a string here, objects as '[object Object]': Velero asserts these keys are strings.
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
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

/** What winston passes through the format to the transport. */
interface Entry {
    level: string;
    message: string;
    [FIELDS]: Fields;
    [MESSAGE]?: string;
}

/**
 * winston is loaded with the first line that passes a threshold, not at start: at Velero's default level
 * (info) a plugin process that has nothing to report never pays its load time and memory (some 3 MiB;
 * docs/decisions/017-winston-logger.md).
 */
interface WinstonParts {
    winston: typeof WinstonModule;
    SyncTransport: new (sink: Sink) => TransportStream;
}
let parts: WinstonParts | undefined;

function winstonParts(): WinstonParts {
    if (parts) return parts;
    /* eslint-disable @typescript-eslint/no-require-imports -- a synchronous, deferred load (see above) */
    const winston = require('winston') as typeof WinstonModule;
    const Transport = require('winston-transport') as typeof TransportStream;
    /* eslint-enable @typescript-eslint/no-require-imports */

    /**
     * The transport: writes the finished line to the sink before returning (fs.writeSync for stderr).
     * A failing sink (a broken pipe) is ignored: logging must never take the plugin down.
     */
    class SyncTransport extends Transport {
        constructor(private readonly sink: Sink) {
            super();
        }

        override log(info: Entry, next: () => void): void {
            try {
                const line = info[MESSAGE];
                if (line !== undefined) this.sink(line);
            } catch {
                // A broken stderr must never take the plugin down.
            }
            next();
        }
    }
    parts = { winston, SyncTransport };
    return parts;
}

/** The winston format: the hclog JSON line of formatLine, stored where transports look for it. */
function hclogLine(winston: typeof WinstonModule, source: string): ReturnType<ReturnType<typeof winston.format>> {
    return winston.format((info) => {
        const entry = info as unknown as Entry;
        entry[MESSAGE] = formatLine(entry.level as Level, entry.message, entry[FIELDS] ?? {}, source);
        return info;
    })();
}

/** One winston logger per (sink, threshold, source); child loggers share their parent's. */
const cores = new WeakMap<Sink, Map<string, Winston>>();

function coreFor(sink: Sink, threshold: Level, source: string): Winston {
    let bySetting = cores.get(sink);
    if (!bySetting) {
        bySetting = new Map();
        cores.set(sink, bySetting);
    }
    const key = `${threshold}\u0000${source}`;
    let core = bySetting.get(key);
    if (!core) {
        const { winston, SyncTransport } = winstonParts();
        core = winston.createLogger({
            levels: LEVELS,
            level: threshold,
            format: hclogLine(winston, source),
            transports: [new SyncTransport(sink)],
            exitOnError: false,
        });
        bySetting.set(key, core);
    }
    return core;
}

export class Logger {
    constructor(
        private readonly threshold: Level,
        private readonly sink: Sink = stderrSink,
        private readonly bound: Fields = {},
        private readonly source = DEFAULT_SOURCE,
    ) {}

    /** A child logger that adds fields (for example the plugin name or the item) to every line. */
    with(fields: Fields): Logger {
        return new Logger(this.threshold, this.sink, { ...this.bound, ...fields }, this.source);
    }

    get level(): Level {
        return this.threshold;
    }

    enabled(level: Level): boolean {
        return LEVELS[level] <= LEVELS[this.threshold];
    }

    log(level: Level, message: string, fields: Fields = {}): void {
        if (!this.enabled(level)) return;
        const entry: Entry = { level, message: String(message), [FIELDS]: { ...this.bound, ...fields } };
        let core: Winston;
        try {
            core = coreFor(this.sink, this.threshold, this.source);
        } catch {
            // winston could not be loaded: the line still goes out, in the same form.
            this.fallback(entry);
            return;
        }
        try {
            core.log(entry as unknown as LogEntry);
        } catch {
            // A broken stderr must never take the plugin down.
        }
    }

    private fallback(entry: Entry): void {
        try {
            this.sink(formatLine(entry.level as Level, entry.message, entry[FIELDS], this.source));
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
