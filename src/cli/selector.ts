/**
 * Label selectors in kubectl syntax, as `velero backup create --selector` takes them (Kubernetes'
 * metav1.ParseToLabelSelector): `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`,
 * comma-separated. `--or-selector` is several such selectors joined by " or ".
 */
import type { LabelSelector } from '../kube/velero';

export class SelectorError extends Error {}

/** Splits on commas outside parentheses. */
function terms(text: string): string[] {
    const out: string[] = [];
    let depth = 0;
    let current = '';
    for (const ch of text) {
        if (ch === '(') depth++;
        if (ch === ')') depth--;
        if (depth < 0) throw new SelectorError(`unbalanced ")" in selector "${text}"`);
        if (ch === ',' && depth === 0) {
            out.push(current);
            current = '';
        } else {
            current += ch;
        }
    }
    if (depth !== 0) throw new SelectorError(`unbalanced "(" in selector "${text}"`);
    out.push(current);
    return out.map((t) => t.trim());
}

const KEY = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function key(k: string, text: string): string {
    if (!KEY.test(k)) throw new SelectorError(`invalid label key "${k}" in selector "${text}"`);
    return k;
}

function value(v: string, text: string): string {
    if (!VALUE.test(v) || v.length > 63) throw new SelectorError(`invalid label value "${v}" in selector "${text}"`);
    return v;
}

export function parseSelector(text: string): LabelSelector {
    const selector: LabelSelector = {};
    const labels: Record<string, string> = {};
    const exprs: NonNullable<LabelSelector['matchExpressions']> = [];
    if (text.trim() === '') throw new SelectorError('empty selector');
    for (const term of terms(text)) {
        if (term === '') throw new SelectorError(`empty term in selector "${text}"`);
        let m = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/.exec(term);
        if (m) {
            const values = (m[3] as string).split(',').map((v) => value(v.trim(), text));
            exprs.push({ key: key(m[1] as string, text), operator: m[2] === 'in' ? 'In' : 'NotIn', values });
            continue;
        }
        m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
        if (m) {
            const k = key(m[1] as string, text);
            const v = value(m[3] as string, text);
            if (m[2] === '!=') exprs.push({ key: k, operator: 'NotIn', values: [v] });
            else labels[k] = v;
            continue;
        }
        m = /^!\s*(\S+)$/.exec(term);
        if (m) {
            exprs.push({ key: key(m[1] as string, text), operator: 'DoesNotExist' });
            continue;
        }
        exprs.push({ key: key(term, text), operator: 'Exists' });
    }
    if (Object.keys(labels).length > 0) selector.matchLabels = labels;
    if (exprs.length > 0) selector.matchExpressions = exprs;
    return selector;
}

/** `--or-selector "a=b or c=d"`. */
export function parseOrSelector(text: string): LabelSelector[] {
    return text.split(/\s+or\s+/).map((part) => parseSelector(part));
}

/** `k=v,k2=v2` (Velero's --labels). */
export function parseLabels(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const pair of text.split(',')) {
        const t = pair.trim();
        if (t === '') continue;
        const eq = t.indexOf('=');
        if (eq <= 0) throw new SelectorError(`invalid label "${t}": expected key=value`);
        out[key(t.slice(0, eq), text)] = value(t.slice(eq + 1), text);
    }
    return out;
}
