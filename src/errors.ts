/**
 * The plugin's one error type. Every failure that reaches Velero is a PluginError whose message names
 * the object (kind namespace/name) and the reason, so an operator can act on the line in the backup log.
 */

export type ErrorReason =
    | 'InvalidItem' // the bytes Velero sent are not a usable Kubernetes object
    | 'Refused' // a policy decision: backing this item up would give an unrestorable backup
    | 'InvalidConfig' // a knob on the Backup/Restore or a plugin ConfigMap is malformed
    | 'Forbidden' // the API server said 401/403: RBAC needs fixing
    | 'Cluster' // the API server could not be reached or kept failing
    | 'NoCluster' // no kubeconfig and not running in a pod
    | 'UnknownPlugin' // Velero asked for a name this binary does not serve
    | 'Internal'; // a bug in the plugin

export interface ItemRef {
    kind?: string | undefined;
    namespace?: string | undefined;
    name?: string | undefined;
}

/** "VirtualMachine ns/name", "Namespace name", or "item" when nothing is known. */
export function describeItem(ref: ItemRef | undefined): string {
    if (!ref) return 'item';
    const kind = ref.kind && ref.kind.length > 0 ? ref.kind : 'item';
    const name = ref.name && ref.name.length > 0 ? ref.name : '<unnamed>';
    return ref.namespace ? `${kind} ${ref.namespace}/${name}` : `${kind} ${name}`;
}

/**
 * Credentials this process holds (kubeconfig tokens and passwords, exec-plugin tokens, proxy passwords).
 * Errors are built so that they never quote one (decision 008); this is the second line of defence: a
 * PluginError's text has every registered credential replaced, whatever it quotes (a server's Status
 * message, a library's error). Values shorter than 8 characters are not registered: they would mask
 * ordinary words, and no real token is that short.
 */
const credentials = new Set<string>();

export function registerCredential(value: string): void {
    if (value.length >= 8) credentials.add(value);
}

/** The text with every registered credential replaced by "[redacted]". */
export function redactCredentials(text: string): string {
    let out = text;
    for (const value of credentials) if (out.includes(value)) out = out.split(value).join('[redacted]');
    return out;
}

export class PluginError extends Error {
    readonly reason: ErrorReason;
    readonly item: ItemRef | undefined;
    /** The bare reason text without the item prefix (for tests and for logs that already carry the item). */
    readonly detail: string;

    constructor(reason: ErrorReason, rawDetail: string, options: { item?: ItemRef; cause?: unknown } = {}) {
        const detail = redactCredentials(rawDetail);
        super(options.item ? `${describeItem(options.item)}: ${detail}` : detail, { cause: options.cause });
        this.name = 'PluginError';
        this.reason = reason;
        this.item = options.item;
        this.detail = detail;
    }

    /** The same error, naming an item (used where the item becomes known only higher up). */
    about(item: ItemRef): PluginError {
        return this.item ? this : new PluginError(this.reason, this.detail, { item, cause: this.cause });
    }
}

export function errorMessage(error: unknown): string {
    if (error instanceof Error) return error.message;
    if (typeof error === 'string') return error;
    try {
        return JSON.stringify(error) ?? String(error);
    } catch {
        return String(error);
    }
}

/** Turns anything thrown into a PluginError; unknown throwables are internal errors. */
export function toPluginError(error: unknown, item?: ItemRef): PluginError {
    if (error instanceof PluginError) return item ? error.about(item) : error;
    return new PluginError('Internal', errorMessage(error), { ...(item ? { item } : {}), cause: error });
}
