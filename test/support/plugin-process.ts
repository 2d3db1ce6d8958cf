/**
 * Starts the plugin binary the way go-plugin does (cookie, protocol versions, Velero's flags) and gives
 * access to its socket; shutdown through GRPCController/Shutdown. Optionally under a throwaway parent
 * process (a shell), so a test can kill the parent and watch the plugin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { unaryCall } from './grpc-client';

export interface PluginProcess {
    socket: string;
    /** The plugin's pid (not the throwaway parent's). */
    pid: number;
    /** The direct child: the plugin, or the throwaway parent when started with `parent: true`. */
    child: ChildProcess;
    stderr(): string;
    /** Everything written to stdout after the handshake line (the plugin must never write there). */
    stdoutAfterHandshake(): string;
    call(service: string, method: string, request: unknown): Promise<Record<string, unknown>>;
    /** Sends Shutdown and resolves with the exit code once the process is gone. */
    shutdown(): Promise<number | null>;
    /** Resolves when the plugin process has ended (exited, or a zombie nobody reaps). */
    gone(timeoutMs: number): Promise<boolean>;
}

export interface StartOptions {
    /** Run the plugin as the child of a throwaway shell (the shell's pid is `child.pid`). */
    parent?: boolean;
}

/** True while the process exists and is not a zombie. */
export function isRunning(pid: number): boolean {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
        return state !== 'Z' && state !== 'X';
    } catch {
        return false;
    }
}

export function startPlugin(binary: string, env: Record<string, string>, args: string[] = ['--log-level=info'], options: StartOptions = {}): Promise<PluginProcess> {
    const fullEnv = { ...process.env, VELERO_PLUGIN: 'hello', PLUGIN_PROTOCOL_VERSIONS: '2', PLUGIN_MIN_PORT: '10000', PLUGIN_MAX_PORT: '25000', ...env };
    const child: ChildProcess = options.parent
        ? spawn('/bin/sh', ['-c', '"$0" "$@" & echo "plugin-pid $!" >&2; wait', binary, ...args], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(binary, args, { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    let handshakeEnd = -1;
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const pluginPid = (): number => {
        if (!options.parent) return child.pid ?? -1;
        const m = /plugin-pid (\d+)/.exec(stderr);
        return m ? Number(m[1]) : -1;
    };
    const gone = async (timeoutMs: number): Promise<boolean> => {
        const deadline = Date.now() + timeoutMs;
        const pid = pluginPid();
        while (Date.now() < deadline) {
            if (!isRunning(pid)) return true;
            await new Promise((r) => setTimeout(r, 10));
        }
        return !isRunning(pid);
    };
    return new Promise((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => {
            const first = handshakeEnd < 0;
            stdout += chunk.toString();
            if (!first || !stdout.includes('\n')) return;
            handshakeEnd = stdout.indexOf('\n') + 1;
            const line = stdout.slice(0, handshakeEnd - 1);
            const socket = line.split('|')[3] ?? '';
            resolve({
                socket,
                get pid() {
                    return pluginPid();
                },
                child,
                stderr: () => stderr,
                stdoutAfterHandshake: () => stdout.slice(handshakeEnd),
                call: (service, method, request) => unaryCall(socket, service, method, request),
                shutdown: async () => {
                    await unaryCall(socket, 'plugin.GRPCController', 'Shutdown', {}).catch(() => undefined);
                    if (!options.parent) return exited;
                    await gone(5000);
                    return null;
                },
                gone,
            });
        });
        child.on('exit', (code) => reject(new Error(`plugin exited (${code}) before the handshake: ${stderr}`)));
    });
}
