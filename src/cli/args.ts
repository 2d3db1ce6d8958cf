import { type Level, parseLevel } from '../logging/logger';

export interface PluginArgs {
    logLevel: Level;
    /** The raw --log-level value when it was not a level we know (reported once at start). */
    unknownLogLevel?: string;
    features: string[];
    /** Velero's --kubeconfig / --kubecontext (Velero running out of cluster): the plugin reads the same cluster. */
    kubeconfig?: string;
    kubecontext?: string;
}

const VALUED = new Set(['log-level', 'features', 'kubeconfig', 'kubecontext']);

/**
 * Reads the arguments Velero passes to a plugin. Velero >= 1.15 passes its own server flags verbatim
 * (`--k=v`, `--k v` and bare booleans such as `--restore-only`); 1.14 and earlier pass
 * `--log-level X [--features Y]`. Only --log-level, --features, --kubeconfig and --kubecontext matter;
 * everything else is ignored and nothing here ever fails.
 */
export function parseArgs(argv: readonly string[]): PluginArgs {
    const result: PluginArgs = { logLevel: 'info', features: [] };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i] ?? '';
        const match = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
        if (!match) continue;
        const key = match[1] ?? '';
        if (!VALUED.has(key)) continue;
        let value = match[2];
        if (value === undefined) {
            const next = argv[i + 1];
            if (next === undefined || next.startsWith('-')) continue;
            value = next;
            i++;
        }
        if (key === 'log-level') {
            const level = parseLevel(value);
            if (level) {
                result.logLevel = level;
                delete result.unknownLogLevel;
            } else {
                result.unknownLogLevel = value;
            }
        } else if (key === 'kubeconfig') {
            result.kubeconfig = value;
        } else if (key === 'kubecontext') {
            result.kubecontext = value;
        } else {
            result.features = value
                .split(',')
                .map((f) => f.trim())
                .filter((f) => f.length > 0);
        }
    }
    return result;
}
