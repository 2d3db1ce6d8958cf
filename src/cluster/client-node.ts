/**
 * Loads @kubernetes/client-node on first use. The library and its dependencies are about 17 MB of
 * JavaScript, some 95 % of the plugin's code; most plugin processes (every restore without knobs,
 * every call that needs no cluster read) never touch it. In the single executable it is therefore not
 * part of the main bundle but a separate asset (client-node.cjs, see scripts/build.mjs) compiled only
 * when the cluster is first read. Outside the single executable it is an ordinary dynamic import.
 */
import { createRequire } from 'node:module';
import { runInThisContext } from 'node:vm';

type ClientNode = typeof import('@kubernetes/client-node');

export const CLIENT_NODE_ASSET = 'client-node.cjs';

interface SeaApi {
    isSea(): boolean;
    getAsset(key: string, encoding: string): string;
}

function sea(): SeaApi | undefined {
    try {
        // node:sea exists from Node 20; require keeps it out of module resolution at bundle time.
        const api = createRequire(__filename)('node:sea') as SeaApi;
        return api.isSea() ? api : undefined;
    } catch {
        return undefined;
    }
}

let loading: Promise<ClientNode> | undefined;

export function loadClientNode(): Promise<ClientNode> {
    loading ??= load();
    return loading;
}

async function load(): Promise<ClientNode> {
    const api = sea();
    if (!api) return import('@kubernetes/client-node');
    const source = api.getAsset(CLIENT_NODE_ASSET, 'utf8');
    const wrapper = runInThisContext(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
        filename: CLIENT_NODE_ASSET,
    }) as (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;
    const module = { exports: {} };
    wrapper(module.exports, createRequire(process.execPath), module, CLIENT_NODE_ASSET, '/');
    return module.exports as ClientNode;
}
