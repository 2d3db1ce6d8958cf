/**
 * Arguments of `kubevirt-velero-plugin preflight backup|restore …`. The scope flags carry Velero's names
 * and meanings (`velero backup create` / `velero restore create`); they become the Backup or Restore
 * object Velero would create, which the action cores then read exactly as they read Velero's.
 * Every problem is a UsageError (exit code 2).
 */
import type { Backup, Restore } from '../kube/velero';
import { parseLabels, parseOrSelector, parseSelector, SelectorError } from './selector';

export class UsageError extends Error {}

export type OutputFormat = 'table' | 'json';

export interface CommonOptions {
    output: OutputFormat;
    kubeconfig?: string;
    kubecontext?: string;
    /** Check the plugin's permissions with SelfSubjectAccessReviews (default on). */
    checkPermissions: boolean;
    /** Every VM with its objects and reasons, not only those with problems (table output). */
    details: boolean;
    /** Print the API requests made, to stderr. */
    stats: boolean;
    logLevel: string;
}

export interface BackupCommand extends CommonOptions {
    command: 'backup';
    backup: Backup;
}

export interface RestoreCommand extends CommonOptions {
    command: 'restore';
    backupFile: string;
    restore: Restore;
}

export type PreflightCommand = BackupCommand | RestoreCommand | { command: 'help'; text: string };

export const USAGE = `Usage:
  kubevirt-velero-plugin preflight backup  [scope flags of velero backup create] [options]
  kubevirt-velero-plugin preflight restore BACKUP.tar.gz [flags of velero restore create] [options]

What a backup or a restore would do to every VM and standalone VMI, before it runs. Reads the
cluster only. Exit code 0: all well; 1: something would be refused or broken; 2: usage error.

backup flags (as velero backup create):
  --include-namespaces, --exclude-namespaces           (comma-separated; default all namespaces)
  --include-resources, --exclude-resources
  --include-namespace-scoped-resources, --exclude-namespace-scoped-resources
  --include-cluster-scoped-resources, --exclude-cluster-scoped-resources, --include-cluster-resources
  -l, --selector SELECTOR, --or-selector "SEL or SEL"
  --labels k=v[,k=v], --label k=v                       (e.g. velero.kubevirt.io/metadataBackup=true)
  --snapshot-volumes[=true|false], --default-volumes-to-fs-backup[=true|false]

restore flags (as velero restore create; the tarball is what velero backup download writes):
  --namespace-mappings src:dst[,src:dst]
  --include-namespaces, --exclude-namespaces, --include-resources, --exclude-resources
  -l, --selector SELECTOR, --or-selector "SEL or SEL"
  --labels k=v[,k=v], --label k=v                       (velero.kubevirt.io/restore-run-strategy, identity knobs)

options:
  -o, --output table|json   (json: docs/preflight-schema.md)
  --details                 every VM with what travels and why, not only the ones with problems
  --kubeconfig PATH, --kubecontext NAME   (default: KUBECONFIG, ~/.kube/config, in-pod service account)
  --check-permissions=false skip the SelfSubjectAccessReviews
  --stats                   print the API requests made to stderr
  --log-level LEVEL
`;

const LIST_FLAGS = {
    backup: {
        'include-namespaces': 'includedNamespaces',
        'exclude-namespaces': 'excludedNamespaces',
        'include-resources': 'includedResources',
        'exclude-resources': 'excludedResources',
        'include-namespace-scoped-resources': 'includedNamespaceScopedResources',
        'exclude-namespace-scoped-resources': 'excludedNamespaceScopedResources',
        'include-cluster-scoped-resources': 'includedClusterScopedResources',
        'exclude-cluster-scoped-resources': 'excludedClusterScopedResources',
    },
    restore: {
        'include-namespaces': 'includedNamespaces',
        'exclude-namespaces': 'excludedNamespaces',
        'include-resources': 'includedResources',
        'exclude-resources': 'excludedResources',
    },
} as const;

const BOOL_FLAGS = {
    backup: { 'snapshot-volumes': 'snapshotVolumes', 'default-volumes-to-fs-backup': 'defaultVolumesToFsBackup', 'include-cluster-resources': 'includeClusterResources' },
    restore: {},
} as const;

const COMMON_VALUED = new Set(['output', 'o', 'kubeconfig', 'kubecontext', 'log-level', 'selector', 'l', 'or-selector', 'labels', 'label', 'namespace-mappings']);
const COMMON_BOOL = new Set(['check-permissions', 'details', 'stats', 'help', 'h']);

function parseBool(flag: string, value: string | undefined): boolean {
    if (value === undefined) return true;
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes'].includes(v)) return true;
    if (['false', '0', 'no'].includes(v)) return false;
    throw new UsageError(`--${flag}: expected true or false, got "${value}"`);
}

function list(value: string): string[] {
    return value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
}

/** argv after "preflight". */
// eslint-disable-next-line complexity -- one flat switch over the command's flags, as --help lists them; each case is one line
export function parsePreflightArgs(argv: readonly string[]): PreflightCommand {
    const [command, ...rest] = argv;
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') return { command: 'help', text: USAGE };
    if (command !== 'backup' && command !== 'restore') throw new UsageError(`unknown preflight command "${command}": expected backup or restore`);
    const listFlags: Record<string, string> = LIST_FLAGS[command];
    const boolFlags: Record<string, string> = BOOL_FLAGS[command];
    const spec: Record<string, unknown> = {};
    const labels: Record<string, string> = {};
    const common: CommonOptions = { output: 'table', checkPermissions: true, details: false, stats: false, logLevel: 'error' };
    const positional: string[] = [];
    let selector: string | undefined;
    let orSelector: string | undefined;
    for (let i = 0; i < rest.length; i++) {
        const arg = rest[i] as string;
        if (arg === '--') {
            positional.push(...rest.slice(i + 1));
            break;
        }
        const m = /^--?([A-Za-z][-A-Za-z]*)(?:=(.*))?$/s.exec(arg);
        if (!m) {
            positional.push(arg);
            continue;
        }
        const flag = m[1] as string;
        let value = m[2];
        const valued = flag in listFlags || COMMON_VALUED.has(flag);
        if (!valued && !(flag in boolFlags) && !COMMON_BOOL.has(flag)) throw new UsageError(`unknown flag --${flag} for preflight ${command}`);
        if (valued && value === undefined) {
            value = rest[++i];
            if (value === undefined) throw new UsageError(`--${flag} needs a value`);
        }
        if (flag === 'help' || flag === 'h') return { command: 'help', text: USAGE };
        const listKey = listFlags[flag];
        const boolKey = boolFlags[flag];
        if (listKey) {
            spec[listKey] = [...((spec[listKey] as string[] | undefined) ?? []), ...list(value as string)];
        } else if (boolKey) {
            spec[boolKey] = parseBool(flag, value);
        } else {
            const v = value as string;
            try {
                switch (flag) {
                    case 'o':
                    case 'output':
                        if (v !== 'table' && v !== 'json') throw new UsageError(`--output: expected table or json, got "${v}"`);
                        common.output = v;
                        break;
                    case 'kubeconfig':
                        common.kubeconfig = v;
                        break;
                    case 'kubecontext':
                        common.kubecontext = v;
                        break;
                    case 'log-level':
                        common.logLevel = v;
                        break;
                    case 'l':
                    case 'selector':
                        spec['labelSelector'] = parseSelector(v);
                        selector = v;
                        break;
                    case 'or-selector':
                        spec['orLabelSelectors'] = parseOrSelector(v);
                        orSelector = v;
                        break;
                    case 'labels':
                    case 'label':
                        Object.assign(labels, parseLabels(v));
                        break;
                    case 'namespace-mappings':
                        if (command !== 'restore') throw new UsageError('--namespace-mappings is a restore flag');
                        spec['namespaceMapping'] = { ...(spec['namespaceMapping'] ?? {}), ...parseMappings(v) };
                        break;
                    case 'check-permissions':
                        common.checkPermissions = parseBool(flag, value);
                        break;
                    case 'details':
                        common.details = parseBool(flag, value);
                        break;
                    case 'stats':
                        common.stats = parseBool(flag, value);
                        break;
                }
            } catch (error) {
                if (error instanceof SelectorError) throw new UsageError(`--${flag}: ${error.message}`);
                throw error;
            }
        }
    }
    if (selector !== undefined && orSelector !== undefined) {
        throw new UsageError("either a 'selector' or an 'or-selector' can be specified, but not both");
    }
    if (command === 'backup') {
        if (positional.length > 0) throw new UsageError(`preflight backup takes no arguments, got "${positional.join(' ')}"`);
        const old = ['includedResources', 'excludedResources'].some((k) => k in spec) || 'includeClusterResources' in spec;
        const scoped = Object.keys(spec).some((k) => /ScopedResources$/.test(k));
        if (old && scoped) {
            throw new UsageError(
                'include-resources, exclude-resources and include-cluster-resources are old filter parameters; they cannot be used with the new scoped filters (include/exclude-cluster-scoped-resources, include/exclude-namespace-scoped-resources)',
            );
        }
        return { command, ...common, backup: { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'preflight', namespace: 'velero', labels }, spec } };
    }
    if (positional.length !== 1) throw new UsageError('preflight restore needs exactly one argument: the backup tarball (velero backup download NAME)');
    return {
        command,
        ...common,
        backupFile: positional[0] as string,
        restore: { apiVersion: 'velero.io/v1', kind: 'Restore', metadata: { name: 'preflight', namespace: 'velero', labels }, spec },
    };
}

/** `src:dst,src2:dst2`. */
export function parseMappings(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const pair of list(text)) {
        const parts = pair.split(':');
        if (parts.length !== 2 || parts[0] === '' || parts[1] === '') throw new UsageError(`--namespace-mappings: "${pair}" is not src:dst`);
        out[parts[0] as string] = parts[1] as string;
    }
    return out;
}
