import { type Level, parseLevel } from '../logging/logger';

export interface PluginArgs {
    logLevel: Level;
    /** The raw --log-level value when it was not a level we know (reported once at start). */
    unknownLogLevel?: string;
    /** Velero's --kubeconfig / --kubecontext (Velero running out of cluster): the plugin reads the same cluster. */
    kubeconfig?: string;
    kubecontext?: string;
}

/**
 * Flags whose value is read. --features (Velero's feature flags, passed by Velero <= 1.14 and by the
 * server's own flags since 1.15) is accepted and its value consumed, then ignored: no feature flag of
 * Velero changes what this plugin does.
 */
const VALUED = new Set(['log-level', 'features', 'kubeconfig', 'kubecontext']);

/**
 * Reads the arguments Velero passes to a plugin. Velero >= 1.15 passes its own server flags verbatim
 * (`--k=v`, `--k v` and bare booleans such as `--restore-only`); 1.14 and earlier pass
 * `--log-level X [--features Y]`. Only --log-level, --kubeconfig and --kubecontext matter; --features and
 * everything else are ignored, and nothing here ever fails.
 */
export function parseArgs(argv: readonly string[]): PluginArgs {
    const result: PluginArgs = { logLevel: 'info' };
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
        }
        // key === 'features': the value is consumed above and ignored.
    }
    return result;
}
