/**
 * Entry point of the plugin binary. Velero (through hashicorp/go-plugin) executes it, reads one
 * handshake line from stdout, talks gRPC over a unix socket, and ends it with GRPCController/Shutdown.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type * as Sea from 'node:sea';
import type { MessagePort, Worker } from 'node:worker_threads';
import { parseArgs } from './cli/args';
import { errorMessage } from './errors';
import { Logger, type Level } from './logging/logger';
import { takeEarlyListener } from './protocol/early';
import { checkCookie, chooseListenAddress, handshakeLine, negotiateVersion } from './protocol/handshake';
import { Offload, serveCalls } from './protocol/offload';
import { PluginServer } from './protocol/server';
import { Registry } from './protocol/registry';
import { buildActions } from './plugin/actions';
import { runPreflight } from './preflight/run';

/** stdout belongs to the handshake: anything a library prints goes to stderr instead. */
function guardStdout(log: Logger): void {
    const toStderr = (...args: unknown[]): void => log.debug(args.map((a) => (typeof a === 'string' ? a : errorMessage(a))).join(' '));
    console.log = toStderr;
    console.info = toStderr;
    console.debug = toStderr;
    console.trace = toStderr;
}

/**
 * Points a standard descriptor at /dev/null. go-plugin's client scans our stdout in a goroutine that
 * does not wait for EOF before its cmd.Wait() closes the pipe: a stdout still open when the process
 * exits can be closed under that reader, which logs "error encountered while scanning stdout" at error
 * level (a backup error). stdout is therefore detached right after the handshake line. (stderr needs no
 * such care: go-plugin 1.6.0, the one Velero 1.18 uses, reads stderr to EOF before cmd.Wait(), and
 * our writes to it are synchronous; see docs/decisions/017-winston-logger.md.)
 * close + open reuses the lowest free descriptor, so the number stays taken and cannot be handed to a
 * socket later.
 */
export function detachDescriptor(fd: 1 | 2): void {
    try {
        closeSync(fd);
        const replacement = openSync('/dev/null', 'w');
        if (replacement !== fd) closeSync(replacement);
    } catch {
        // Nothing useful can be done; the process keeps serving.
    }
}

/** The path Velero executed: the registry stores it and starts it again for every backup and restore. */
function commandPath(): string {
    const fromLauncher = process.env['KVP_PLUGIN_COMMAND'];
    if (fromLauncher) return fromLauncher;
    return process.argv[1] && !isSingleExecutable() ? process.argv[1] : process.argv0;
}

type SeaApi = typeof Sea;

function seaApi(): SeaApi | undefined {
    try {
        const api = process.getBuiltinModule('node:sea');
        return api.isSea() ? api : undefined;
    } catch {
        return undefined;
    }
}

function isSingleExecutable(): boolean {
    return seaApi() !== undefined;
}

/** What the action worker needs to build the same actions as the gRPC thread. */
interface WorkerSetup {
    kvpActionWorker: true;
    logLevel: Level;
    kubeconfig: string | undefined;
    kubecontext: string | undefined;
    /** The program and its V8 code cache (single executable, see src/sea/loader.ts). */
    program?: string;
    cache?: Uint8Array;
}

/**
 * Marks the action worker's process.argv. node:worker_threads is loaded only by a process that starts a
 * worker or is one: compiling it is some 10-30 ms of CPU at start (V8 cannot use Node's built-in code
 * cache under --lite-mode, see docs/decisions/017-winston-logger.md).
 */
const WORKER_ARG = '--kvp-action-worker';

/** Assets of the single executable (scripts/build.mjs); the same names as in src/sea/loader.ts. */
const PROGRAM_ASSET = 'kubevirt-velero-plugin.cjs';
const CACHE_ASSET = 'kubevirt-velero-plugin.cache';

/** Runs the program asset in the worker, like src/sea/loader.ts does on the main thread. */
const SEA_WORKER_BOOT = `
const { workerData } = require('node:worker_threads');
const { wrap } = require('node:module');
const { Script } = require('node:vm');
const filename = '/${PROGRAM_ASSET}';
const options = workerData.cache ? { filename, cachedData: Buffer.from(workerData.cache) } : { filename };
const program = { exports: {} };
new Script(wrap(workerData.program), options).runInThisContext().call(program.exports, program.exports, require, program, filename, '/');
`;

function startActionWorker(setup: WorkerSetup): Worker {
    const { Worker } = process.getBuiltinModule('node:worker_threads');
    const sea = seaApi();
    if (sea) {
        let cache: Uint8Array | undefined;
        try {
            cache = new Uint8Array(sea.getAsset(CACHE_ASSET));
        } catch {
            cache = undefined;
        }
        const program = sea.getAsset(PROGRAM_ASSET, 'utf8');
        return new Worker(SEA_WORKER_BOOT, { eval: true, argv: [WORKER_ARG], workerData: { ...setup, program, ...(cache ? { cache } : {}) } });
    }
    // The bundle run by node (scripts/start.sh, the lab's wrapper): the same file on the worker.
    return new Worker(require.main?.filename ?? process.argv[1] ?? __filename, { argv: [WORKER_ARG], workerData: setup });
}

function isWorkerSetup(value: unknown): value is WorkerSetup {
    return typeof value === 'object' && value !== null && (value as Partial<WorkerSetup>).kvpActionWorker === true;
}

/** The action worker: the same actions, called through messages from the gRPC thread. */
function runActionWorker(setup: WorkerSetup, parentPort: MessagePort | null): number {
    const log = new Logger(setup.logLevel);
    process.on('uncaughtException', (error) => log.error('unexpected error (process keeps serving)', { error: errorMessage(error) }));
    process.on('unhandledRejection', (error) => log.error('unexpected rejection (process keeps serving)', { error: errorMessage(error) }));
    if (parentPort) serveCalls(parentPort, buildActions({ log, env: process.env, kubeconfig: setup.kubeconfig, kubecontext: setup.kubecontext }), log);
    return 0;
}

/**
 * Exits when the parent (Velero) is gone: a SIGKILLed Velero cannot send Shutdown, and an orphaned
 * plugin would serve nobody for ever. On Linux an orphan is re-parented (to init or a subreaper), so
 * the parent pid changes; go-plugin gives the plugin Velero's own stdin, so stdin says nothing. A parent
 * pid of 1 from the start (Velero as a container's init) leaves nothing to watch: when it dies, the
 * container ends.
 */
export function watchParent(onGone: () => void, intervalMs = PARENT_POLL_MS): void {
    const parent = process.ppid;
    if (parent <= 1) return;
    const timer = setInterval(() => {
        if (process.ppid === parent) return;
        clearInterval(timer);
        onGone();
    }, intervalMs);
    timer.unref();
}

/** How often the parent pid is checked (one getppid call). */
const PARENT_POLL_MS = 250;

/** How long Shutdown waits for calls in flight before ending them (the process must be gone within 1 s). */
const SHUTDOWN_GRACE_MS = 100;
/**
 * Longest wait for the action worker to stop. Node cannot end a thread inside a long native call (a
 * JSON.parse of a huge API response), and process.exit waits for it; past this the process kills itself.
 * go-plugin would kill it after 2 s anyway, and log that it failed to exit gracefully.
 */
const HARD_EXIT_MS = 500;
/**
 * Requests from this size on run on the worker thread. A 256 KiB item (a VM with about 2,500 volumes)
 * is about 10 ms of synchronous work; ordinary VMs are 5–20 KiB and never start the worker.
 */
const WORKER_MIN_REQUEST_BYTES = 256 * 1024;

/**
 * Writes all of `text` to a descriptor. A pipe may take fewer bytes than offered, or none (EAGAIN)
 * while the reader catches up; a large JSON report must arrive whole before the process exits.
 */
function writeAll(fd: 1 | 2, text: string): void {
    const bytes = Buffer.from(text);
    const pause = new Int32Array(new SharedArrayBuffer(4));
    let offset = 0;
    while (offset < bytes.length) {
        try {
            offset += writeSync(fd, bytes, offset);
        } catch (error) {
            if ((error as { code?: string }).code !== 'EAGAIN') throw error;
            Atomics.wait(pause, 0, 0, 5);
        }
    }
}

/**
 * `kubevirt-velero-plugin preflight …` (an operator's command, not Velero's: Velero never passes a
 * positional "preflight"); without it the process is the plugin, exactly as before.
 */
async function preflight(argv: readonly string[]): Promise<number> {
    const code = await runPreflight(argv, { stdout: (t) => writeAll(1, t), stderr: (t) => writeAll(2, t), env: process.env });
    // Output is written synchronously; exit now rather than wait for idle keep-alive sockets.
    process.exit(code);
}

export async function main(): Promise<number> {
    if (process.argv.includes(WORKER_ARG)) {
        const threads = process.getBuiltinModule('node:worker_threads');
        if (!threads.isMainThread && isWorkerSetup(threads.workerData)) return runActionWorker(threads.workerData, threads.parentPort);
    }
    if (process.argv[2] === 'preflight') return preflight(process.argv.slice(3));
    const cookieProblem = checkCookie(process.env);
    if (cookieProblem) {
        writeSync(2, cookieProblem);
        return 1;
    }
    const negotiated = negotiateVersion(process.env);
    if ('error' in negotiated) {
        writeSync(2, negotiated.error);
        return 1;
    }

    const args = parseArgs(process.argv.slice(2));
    const log = new Logger(args.logLevel);
    guardStdout(log);
    if (args.unknownLogLevel !== undefined) log.warn(`unknown --log-level "${args.unknownLogLevel}", using info`);

    // A failure in one call must never end the process: Velero would fail every item in flight.
    process.on('uncaughtException', (error) => log.error('unexpected error (process keeps serving)', { error: errorMessage(error) }));
    process.on('unhandledRejection', (error) => log.error('unexpected rejection (process keeps serving)', { error: errorMessage(error) }));
    // go-plugin servers ignore SIGINT (the terminal's Ctrl-C reaches the whole process group); Velero ends us with Shutdown.
    process.on('SIGINT', () => undefined);

    // Large items run on a worker thread (src/protocol/offload.ts), the others on this thread.
    const setup: WorkerSetup = { kvpActionWorker: true, logLevel: args.logLevel, kubeconfig: args.kubeconfig, kubecontext: args.kubecontext };
    const offload = new Offload(() => startActionWorker(setup), log);
    const registry = new Registry(offload.wrap(buildActions({ log, env: process.env, kubeconfig: args.kubeconfig, kubecontext: args.kubecontext }), WORKER_MIN_REQUEST_BYTES));
    let exiting = false;
    const exit = (code: number): void => {
        if (exiting) return;
        exiting = true;
        log.debug('plugin exiting');
        // Every log line is already in the stderr pipe (written synchronously), and go-plugin reads that
        // pipe to EOF before it reaps the process: exit as soon as the worker (if any) has stopped, so
        // that process.exit does not wait for it. No fixed drain (docs/decisions/017-winston-logger.md).
        const hard = setTimeout(() => process.kill(process.pid, 'SIGKILL'), HARD_EXIT_MS);
        void offload
            .stop()
            .catch(() => undefined)
            .then(() => {
                clearTimeout(hard);
                process.exit(code);
            });
    };
    const server = new PluginServer({
        registry,
        logger: log,
        command: commandPath(),
        onShutdown: () => exit(0),
        // The calls in flight are abandoned: stop their worker while the server winds down.
        onShutdownRequested: () => void offload.stop().catch(() => undefined),
        shutdownGraceMs: SHUTDOWN_GRACE_MS,
    });
    process.on('SIGTERM', () => void server.stop().then(() => exit(0)));
    watchParent(() => {
        log.warn('the parent process (Velero) is gone; exiting');
        void server.stop().then(() => exit(0));
    });

    // The single executable's loader may have listened and printed the handshake line already, before
    // the program was loaded (src/protocol/early.ts); then the server takes over its listener.
    const early = takeEarlyListener();
    const address = early ? server.adopt(early) : await server.listen(chooseListenAddress(process.env));
    if (!early) writeSync(1, handshakeLine(address, negotiated.version));
    // The handshake is all stdout ever carries; anything that still reaches for it gets stderr.
    detachDescriptor(1);
    // A getter: creating process.stderr (a stream over the pipe) costs tens of milliseconds of CPU, paid
    // only if something ever reaches for stdout or stderr.
    Object.defineProperty(process, 'stdout', { get: () => process.stderr, configurable: true });
    log.debug('plugin serving', { network: address.network, address: address.address });
    return 0;
}
