/**
 * The single executable's entry point. Node's own SEA code cache covers only the functions V8 compiles
 * before the script runs; most of start-up is spent compiling the functions that run while the plugin
 * starts (grpc-js, the codecs, the server). So the plugin program travels as an asset with a V8 code
 * cache recorded after a real start (scripts/build.mjs runs the binary once with KVP_RECORD_CODE_CACHE
 * set), and this loader compiles it with that cache. A cache V8 rejects (another V8 version or flags)
 * only costs the compile time it would have saved.
 *
 * Before any of that, when Velero started the process, the loader listens and prints the handshake line
 * (src/protocol/early.ts): compiling and running the program is most of a cold start, and Velero can
 * connect while it happens.
 */
import { writeFileSync } from 'node:fs';
import { wrap } from 'node:module';
import { getAsset } from 'node:sea';
import { Script } from 'node:vm';
import { listenEarly } from '../protocol/early';

export const PROGRAM_ASSET = 'kubevirt-velero-plugin.cjs';
export const CACHE_ASSET = 'kubevirt-velero-plugin.cache';
/** How long after start the recording run writes the cache: well after the handshake. */
const RECORD_AFTER_MS = 500;

function asset(key: string): Buffer | undefined {
    try {
        return Buffer.from(getAsset(key));
    } catch {
        return undefined;
    }
}

const filename = `/${PROGRAM_ASSET}`;

/** Compiles the program asset with its code cache and runs it (its src/index.ts starts the plugin). */
function runProgram(): void {
    const cachedData = asset(CACHE_ASSET);
    const script = new Script(wrap(getAsset(PROGRAM_ASSET, 'utf8')), { filename, ...(cachedData ? { cachedData } : {}) });

    const recordTo = process.env['KVP_RECORD_CODE_CACHE'];
    if (recordTo) {
        setTimeout(() => {
            writeFileSync(recordTo, script.createCachedData());
            process.exit(0);
        }, RECORD_AFTER_MS);
    }

    const program = { exports: {} };
    (script.runInThisContext() as (exports: object, req: NodeJS.Require, module: object, filename: string, dirname: string) => void).call(
        program.exports,
        program.exports,
        require,
        program,
        filename,
        '/',
    );
}

// The handshake line first (a listening socket is all it needs), then the program (src/protocol/early.ts).
listenEarly(process.env, process.argv, runProgram);
