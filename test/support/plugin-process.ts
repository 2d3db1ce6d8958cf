/**
 * Starts the plugin binary the way go-plugin does (cookie, protocol versions, Velero's flags) and gives
 * access to its socket; shutdown through GRPCController/Shutdown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { unaryCall } from './grpc-client';

export interface PluginProcess {
    socket: string;
    pid: number;
    stderr(): string;
    call(service: string, method: string, request: unknown): Promise<Record<string, unknown>>;
    shutdown(): Promise<number | null>;
}

export function startPlugin(binary: string, env: Record<string, string>, args: string[] = ['--log-level=info']): Promise<PluginProcess> {
    const child: ChildProcess = spawn(binary, args, {
        env: { ...process.env, VELERO_PLUGIN: 'hello', PLUGIN_PROTOCOL_VERSIONS: '2', PLUGIN_MIN_PORT: '10000', PLUGIN_MAX_PORT: '25000', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return new Promise((resolve, reject) => {
        let stdout = '';
        child.stdout?.on('data', (chunk: Buffer) => {
            stdout += chunk.toString();
            const line = stdout.split('\n')[0];
            if (!stdout.includes('\n') || line === undefined) return;
            const socket = line.split('|')[3] ?? '';
            resolve({
                socket,
                pid: child.pid ?? 0,
                stderr: () => stderr,
                call: (service, method, request) => unaryCall(socket, service, method, request),
                shutdown: async () => {
                    await unaryCall(socket, 'plugin.GRPCController', 'Shutdown', {}).catch(() => undefined);
                    return exited;
                },
            });
        });
        child.on('exit', (code) => reject(new Error(`plugin exited (${code}) before the handshake: ${stderr}`)));
    });
}
