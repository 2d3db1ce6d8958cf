/**
 * The handshake before the program is loaded. Most of a cold start is compiling grpc-js, http2, tls and
 * the plugin's code; none of it is needed to print the handshake line, only a listening socket. So the
 * single executable's loader (src/sea/loader.ts) listens with node:net, prints the line, and only then
 * loads the program, whose server takes over the listener (PluginServer.adopt): connections accepted
 * meanwhile wait, unread, and are handed to grpc-js in order. Velero's client connects as soon as it has
 * read the line; its first call is answered once the program has loaded
 * (docs/decisions/018-floor-and-start-up.md).
 *
 * The same checks as src/main.ts decide whether there is a handshake at all (Velero's cookie, the version
 * negotiation, not the preflight command); anything else, or a failure to listen, leaves the whole start
 * to the program as before. This module loads nothing but node:net (and what handshake.ts needs).
 */
import { rmSync, writeSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { checkCookie, chooseListenAddress, handshakeLine, negotiateVersion, type Env, type ListenAddress } from './handshake';

/** A listener that printed the handshake line and holds the connections accepted until the program takes them. */
export interface EarlyListener {
    readonly address: ListenAddress;
    readonly server: Server;
    /** Hands every connection accepted so far, then every later one, to `accept`. Once. */
    handOver(accept: (socket: Socket) => void): void;
}

/** Where the loader leaves the listener for the program (two bundles: they share only the global object). */
const SLOT = Symbol.for('kubevirt-velero-plugin.early-listener');

type Slot = { [SLOT]?: EarlyListener };

/** The listener the loader started, once (the program takes it; a second call gets nothing). */
export function takeEarlyListener(): EarlyListener | undefined {
    const slot = globalThis as Slot;
    const early = slot[SLOT];
    delete slot[SLOT];
    return early;
}

/** Whether this start is Velero's (a handshake to print) rather than the preflight command or a stray run. */
function wantsHandshake(env: Env, argv: readonly string[]): boolean {
    return argv[2] !== 'preflight' && checkCookie(env) === undefined && !('error' in negotiateVersion(env));
}

/**
 * Listens where src/main.ts would, prints the handshake line, and calls `then` with the listener left for
 * the program; `then` is called with undefined (and nothing printed) when this start has no handshake or
 * the socket could not be opened, and the program does all of it itself.
 */
export function listenEarly(
    env: Env,
    argv: readonly string[],
    then: (early: EarlyListener | undefined) => void,
    print: (line: string) => void = (line) => writeSync(1, line),
): void {
    const negotiated = negotiateVersion(env);
    if (!wantsHandshake(env, argv) || 'error' in negotiated) {
        then(undefined);
        return;
    }
    const { createServer } = process.getBuiltinModule('node:net');
    const wanted = chooseListenAddress(env);
    const waiting: Socket[] = [];
    let accept: ((socket: Socket) => void) | undefined;
    // Nothing is read from a socket before grpc-js has it: pauseOnConnect, and resume() right before the
    // handover, in the same tick, so that the http2 session grpc-js starts on it takes the socket's handle
    // before any byte arrives. (Bytes read into the socket's own buffer first are lost to that session: a
    // call fails or the last reply is dropped; a socket never resumed is never read: the call hangs.)
    const hand = (socket: Socket): void => {
        socket.resume();
        accept?.(socket);
    };
    const server = createServer({ pauseOnConnect: true }, (socket) => (accept ? hand(socket) : waiting.push(socket)));
    const failed = (): void => {
        server.close();
        then(undefined);
    };
    server.once('error', failed);
    server.once('listening', () => {
        server.off('error', failed);
        const bound = server.address();
        const address: ListenAddress = wanted.network === 'unix' || bound === null || typeof bound === 'string' ? wanted : { network: 'tcp', address: `127.0.0.1:${bound.port}` };
        print(handshakeLine(address, negotiated.version));
        const early: EarlyListener = {
            address,
            server,
            handOver(take) {
                if (accept) throw new Error('the early listener was already handed over');
                accept = take;
                for (const socket of waiting.splice(0)) hand(socket);
            },
        };
        (globalThis as Slot)[SLOT] = early;
        then(early);
    });
    if (wanted.network === 'unix') {
        rmSync(wanted.address, { force: true });
        server.listen(wanted.address);
    } else {
        server.listen(0, '127.0.0.1');
    }
}
