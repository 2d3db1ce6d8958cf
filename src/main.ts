/**
 * Entry point of the plugin binary. Velero (through hashicorp/go-plugin) executes it, reads one
 * handshake line from stdout, talks gRPC over a unix socket, and ends it with GRPCController/Shutdown.
 */
import { writeSync } from 'node:fs';
import { parseArgs } from './cli/args';
import { errorMessage } from './errors';
import { Logger } from './logging/logger';
import { checkCookie, chooseListenAddress, handshakeLine, negotiateVersion } from './protocol/handshake';
import { PluginServer } from './protocol/server';
import { Registry } from './protocol/registry';
import { buildActions } from './plugin/actions';

/** stdout belongs to the handshake: anything a library prints goes to stderr instead. */
function guardStdout(log: Logger): void {
    const toStderr = (...args: unknown[]): void => log.debug(args.map((a) => (typeof a === 'string' ? a : errorMessage(a))).join(' '));
    console.log = toStderr;
    console.info = toStderr;
    console.debug = toStderr;
    console.trace = toStderr;
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

export async function main(): Promise<number> {
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

    const registry = new Registry(buildActions({ log }));
    let exiting = false;
    const exit = (code: number): void => {
        if (exiting) return;
        exiting = true;
        process.exit(code);
    };
    const server = new PluginServer({ registry, logger: log, command: commandPath(), onShutdown: () => exit(0) });
    process.on('SIGTERM', () => void server.stop().then(() => exit(0)));

    const address = await server.listen(chooseListenAddress(process.env));
    writeSync(1, handshakeLine(address, negotiated.version));
    log.debug('plugin serving', { network: address.network, address: address.address });
    return 0;
}
