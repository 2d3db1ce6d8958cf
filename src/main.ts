/**
 * Entry point of the plugin binary. Velero (through hashicorp/go-plugin) executes it, reads one
 * handshake line from stdout, talks gRPC over a unix socket, and ends it with GRPCController/Shutdown.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from './cli/args';
import { errorMessage } from './errors';
import { Logger } from './logging/logger';
import { checkCookie, chooseListenAddress, handshakeLine, negotiateVersion } from './protocol/handshake';
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
 * Points a standard descriptor at /dev/null. go-plugin's client reads our stdout and stderr pipes in
 * goroutines that race with its own cmd.Wait(): a pipe still open when the process exits can be closed
 * under a reader, which logs "error encountered while scanning stdout" / "reading plugin stderr" at
 * error level (a backup error). Closing the pipes well before exiting gives the readers a clean EOF.
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

function isSingleExecutable(): boolean {
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return (require('node:sea') as { isSea(): boolean }).isSea();
    } catch {
        return false;
    }
}

/** Time between closing stderr and exiting, well inside Velero's 2 s shutdown budget. */
const EXIT_DRAIN_MS = 100;

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

    const registry = new Registry(buildActions({ log, kubeconfig: args.kubeconfig, kubecontext: args.kubecontext }));
    let exiting = false;
    const exit = (code: number): void => {
        if (exiting) return;
        exiting = true;
        log.debug('plugin exiting');
        detachDescriptor(2);
        // Let the client's stderr reader see EOF before the process is reaped (see detachDescriptor).
        setTimeout(() => process.exit(code), EXIT_DRAIN_MS);
    };
    const server = new PluginServer({ registry, logger: log, command: commandPath(), onShutdown: () => exit(0) });
    process.on('SIGTERM', () => void server.stop().then(() => exit(0)));

    const address = await server.listen(chooseListenAddress(process.env));
    writeSync(1, handshakeLine(address, negotiated.version));
    // The handshake is all stdout ever carries; anything that still reaches for it gets stderr.
    detachDescriptor(1);
    Object.defineProperty(process, 'stdout', { value: process.stderr, configurable: true });
    log.debug('plugin serving', { network: address.network, address: address.address });
    return 0;
}
