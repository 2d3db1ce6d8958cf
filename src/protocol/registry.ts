import { PluginError } from '../errors';
import type { ActionDeclaration, ActionKind } from './types';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Velero's order for ListPlugins: kinds in this order, names sorted within a kind. */
const KIND_ORDER: readonly ActionKind[] = ['BackupItemActionV2', 'RestoreItemActionV2', 'ItemBlockAction'];

/** Checks a plugin name the way Velero's server mux and client registry do; returns the problem or undefined. */
export function validatePluginName(name: string): string | undefined {
    const parts = name.split('/');
    if (parts.length !== 2) {
        return `plugin name must have exactly two parts separated by a \`/\`. Accepted format: <DNS subdomain>/<non-empty name>. ${name} is invalid`;
    }
    const [domain = '', rest = ''] = parts;
    if (domain.length === 0 || rest.length === 0) {
        return `both parts of the plugin name must be non-empty. Accepted format: <DNS subdomain>/<non-empty name>. ${name} is invalid`;
    }
    if (domain.length > 253 || !DNS_SUBDOMAIN.test(domain)) {
        return `first part of the plugin name must be a valid DNS subdomain. Accepted format: <DNS subdomain>/<non-empty name>. first part "${domain}" is invalid`;
    }
    return undefined;
}

export type DeclarationOf<K extends ActionKind> = Extract<ActionDeclaration, { kind: K }>;

/**
 * Every action this binary serves, declared once. The server lists them in ListPlugins and dispatches
 * each call on the request's `plugin` field. Construction fails on an invalid or duplicate name, so a
 * broken registration is caught by the unit tests, never by a Velero server at start-up.
 */
export class Registry {
    private readonly byKey = new Map<string, ActionDeclaration>();
    private readonly names = new Set<string>();

    constructor(declarations: readonly ActionDeclaration[]) {
        for (const declaration of declarations) {
            const problem = validatePluginName(declaration.name);
            if (problem) throw new PluginError('Internal', problem);
            // One name, one kind: the same name under two kinds would run twice per item in Velero.
            if (this.names.has(declaration.name)) {
                throw new PluginError('Internal', `plugin name ${declaration.name} already exists`);
            }
            this.names.add(declaration.name);
            this.byKey.set(key(declaration.kind, declaration.name), declaration);
        }
    }

    /** All declarations in Velero's listing order. */
    list(): ActionDeclaration[] {
        return KIND_ORDER.flatMap((kind) => [...this.byKey.values()].filter((d) => d.kind === kind).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
    }

    get<K extends ActionKind>(kind: K, name: string): DeclarationOf<K> {
        const found = this.byKey.get(key(kind, name));
        if (!found) {
            throw new PluginError('UnknownPlugin', `${kind} plugin: ${name} was not found or has an invalid name format`);
        }
        return found as DeclarationOf<K>;
    }
}

function key(kind: ActionKind, name: string): string {
    return `${kind}\u0000${name}`;
}
