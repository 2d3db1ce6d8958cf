/**
 * restore-nad-action (upstream PR #431, after v0.9.0): a NetworkAttachmentDefinition's spec.config is
 * a CNI configuration, a JSON document inside a string. OVN-Kubernetes configs name the NAD itself
 * there ("netAttachDefName": "<namespace>/<name>"); Velero moves the object into the mapped namespace
 * but never looks inside the string, so the restored network would still claim the old namespace.
 *
 * Differences from upstream, deliberate:
 *  - the string is edited in place at the value's position instead of being parsed and re-serialised,
 *    so key order, spacing and every other value stay byte-for-byte as they were;
 *  - only the NAD's own namespace is rewritten (a config naming another namespace is left alone: that
 *    is a reference this restore does not move);
 *  - a netAttachDefName anywhere in the document counts (a conflist nests configs under "plugins");
 *  - a config that is not JSON is kept with a warning instead of failing the restore of the NAD.
 * The config text is never logged: a CNI config may carry credentials.
 */
import { deepClone } from '../kube/json';
import { describe, namespaceOf, pathGet } from '../kube/object';
import { PLUGIN_PREFIX, type RestoreAction } from '../plugin/contract';

/** The CNI config key that names the NetworkAttachmentDefinition as "<namespace>/<name>". */
export const NAD_NAME_KEY = 'netAttachDefName';

/** A string literal of a JSON text: where it is and the object key it is the value of, if any. */
interface StringValue {
    start: number;
    /** Index after the closing quote. */
    end: number;
    key: string | undefined;
}

interface Frame {
    object: boolean;
    expectKey: boolean;
    key: string | undefined;
}

/**
 * The string values of a JSON text that is already known to be valid, with the key each one is the
 * value of (undefined for array elements and a top-level string). Keys themselves are not listed.
 */
function stringValues(text: string): StringValue[] {
    const out: StringValue[] = [];
    const stack: Frame[] = [];
    let i = 0;
    while (i < text.length) {
        const c = text[i];
        const top = stack[stack.length - 1];
        if (c === '"') {
            let j = i + 1;
            while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
            const end = j + 1;
            if (top?.object && top.expectKey) {
                top.key = JSON.parse(text.slice(i, end)) as string;
                top.expectKey = false;
            } else {
                out.push({ start: i, end, key: top?.object ? top.key : undefined });
            }
            i = end;
            continue;
        }
        if (c === '{' || c === '[') stack.push({ object: c === '{', expectKey: c === '{', key: undefined });
        else if (c === '}' || c === ']') stack.pop();
        else if (c === ',' && top?.object) top.expectKey = true;
        i += 1;
    }
    return out;
}

export interface ConfigRewrite {
    config: string;
    from: string[];
    to: string[];
}

/**
 * Rewrites every `netAttachDefName` value "<from>/<name>" of a CNI config to "<to>/<name>", editing
 * only the namespace part of each string literal. Returns undefined when nothing matches. Throws
 * SyntaxError when `config` is not JSON.
 */
export function rewriteNadConfig(config: string, from: string, to: string): ConfigRewrite | undefined {
    JSON.parse(config);
    const prefix = `${from}/`;
    const edits: { start: number; end: number; text: string; from: string; to: string }[] = [];
    for (const value of stringValues(config)) {
        if (value.key !== NAD_NAME_KEY) continue;
        const raw = config.slice(value.start + 1, value.end - 1);
        const decoded = JSON.parse(config.slice(value.start, value.end)) as string;
        if (!decoded.startsWith(prefix) || decoded.length === prefix.length || decoded.indexOf('/', prefix.length) >= 0) continue;
        const mapped = `${to}/${decoded.slice(prefix.length)}`;
        // The namespace part is written as-is when the literal spells it without escapes; otherwise
        // the whole literal is re-encoded (a namespace is a DNS label, so this is only for odd input).
        const text = raw.startsWith(prefix) ? `"${JSON.stringify(to).slice(1, -1)}${raw.slice(from.length)}"` : JSON.stringify(mapped);
        edits.push({ start: value.start, end: value.end, text, from: decoded, to: mapped });
    }
    if (edits.length === 0) return undefined;
    let out = '';
    let at = 0;
    for (const edit of edits) {
        out += config.slice(at, edit.start) + edit.text;
        at = edit.end;
    }
    out += config.slice(at);
    return { config: out, from: edits.map((e) => e.from), to: edits.map((e) => e.to) };
}

export const nadRestoreAction: RestoreAction = {
    name: `${PLUGIN_PREFIX}/restore-nad-action`,
    appliesTo: { includedResources: ['network-attachment-definitions.k8s.cni.cncf.io'] },
    async execute({ item, options }, deps) {
        const unchanged = { item, additionalItems: [], skipRestore: false };
        const namespace = namespaceOf(item);
        const target = options.namespaceMapping.get(namespace);
        const config = pathGet(item, ['spec', 'config']);
        if (target === undefined || typeof config !== 'string' || config === '') return unchanged;

        let rewrite: ConfigRewrite | undefined;
        try {
            rewrite = rewriteNadConfig(config, namespace, target);
        } catch {
            deps.log.warn(`spec.config of ${describe(item)} is not valid JSON; restoring it unchanged (a ${NAD_NAME_KEY} in it keeps namespace ${namespace})`);
            return unchanged;
        }
        if (!rewrite) return unchanged;

        const out = deepClone(item);
        (out.spec as Record<string, unknown>)['config'] = rewrite.config;
        rewrite.from.forEach((from, i) => {
            deps.log.info(`Mapping ${NAD_NAME_KEY} of ${describe(item)} from ${from} to ${rewrite.to[i] ?? ''}`);
        });
        return { item: out, additionalItems: [], skipRestore: false };
    },
};
