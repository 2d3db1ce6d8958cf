/**
 * The go-plugin handshake: the environment checks a plugin server makes before serving, and the one
 * line it prints on stdout. Velero's client settings: core protocol 1, application protocol 2, cookie
 * VELERO_PLUGIN=hello, gRPC only.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CORE_PROTOCOL_VERSION = 1;
export const APP_PROTOCOL_VERSION = 2;
export const MAGIC_COOKIE_KEY = 'VELERO_PLUGIN';
export const MAGIC_COOKIE_VALUE = 'hello';

/** sun_path is 108 bytes including the terminating NUL. */
const MAX_UNIX_PATH = 107;

export type Env = Readonly<Record<string, string | undefined>>;

export const NOT_A_COMMAND =
    'This binary is a plugin. These are not meant to be executed directly.\n' +
    'Please execute the program that consumes these plugins, which will\n' +
    'load any plugins automatically.\n';

/** Returns the message to print when the binary was not started by a go-plugin client. */
export function checkCookie(env: Env): string | undefined {
    return env[MAGIC_COOKIE_KEY] === MAGIC_COOKIE_VALUE ? undefined : NOT_A_COMMAND;
}

/**
 * Picks the application protocol version. The client lists what it accepts in PLUGIN_PROTOCOL_VERSIONS;
 * an absent list means the client predates negotiation and expects the configured version.
 */
export function negotiateVersion(env: Env): { version: number } | { error: string } {
    const offered = (env['PLUGIN_PROTOCOL_VERSIONS'] ?? '')
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v.length > 0);
    if (offered.length === 0 || offered.some((v) => Number(v) === APP_PROTOCOL_VERSION)) {
        return { version: APP_PROTOCOL_VERSION };
    }
    return {
        error: `Incompatible API version with plugin. Plugin version: ${APP_PROTOCOL_VERSION}, Client versions: [${offered.join(' ')}]\n`,
    };
}

export interface ListenAddress {
    network: 'unix' | 'tcp';
    /** For unix: the socket path; for tcp: host:port once bound. */
    address: string;
}

/**
 * Where to listen: a fresh unix socket path `plugin<random>` in PLUGIN_UNIX_SOCKET_DIR or the temp dir,
 * as go-plugin does. A directory so deep that the path would not fit in sun_path falls back to TCP on
 * loopback (the client accepts either).
 */
export function chooseListenAddress(env: Env): ListenAddress {
    const dir = env['PLUGIN_UNIX_SOCKET_DIR'] || env['TMPDIR'] || tmpdir();
    // Math.random, not node:crypto: loading crypto costs 10-15 ms of CPU before the handshake, and the name
    // needs to be unlikely to collide, not secret (go-plugin's own is os.CreateTemp's, not cryptographic).
    const path = join(dir, `plugin${1_000_000_000 + Math.floor(Math.random() * 9_000_000_000)}`);
    if (Buffer.byteLength(path) <= MAX_UNIX_PATH) return { network: 'unix', address: path };
    return { network: 'tcp', address: '127.0.0.1:0' };
}

/** `1|2|unix|/tmp/plugin123|grpc|`: six fields, the last (server certificate) empty, no seventh. */
export function handshakeLine(listen: ListenAddress, version = APP_PROTOCOL_VERSION): string {
    return `${CORE_PROTOCOL_VERSION}|${version}|${listen.network}|${listen.address}|grpc|\n`;
}
