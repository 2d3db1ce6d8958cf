/**
 * The handshake before the program is loaded (src/protocol/early.ts): the loader listens and prints the
 * line, connections made before the server exists wait unread, and the server takes them over.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '../../../src/logging/logger';
import { buildActions } from '../../../src/plugin/actions';
import { listenEarly, takeEarlyListener, type EarlyListener } from '../../../src/protocol/early';
import { Registry } from '../../../src/protocol/registry';
import { PluginServer } from '../../../src/protocol/server';
import { unaryCall } from '../../support/grpc-client';

const quiet = new Logger('error', () => undefined);
const VELERO = { VELERO_PLUGIN: 'hello', PLUGIN_PROTOCOL_VERSIONS: '2' };

let dir: string;
beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvp-early-'));
});
afterEach(() => {
    takeEarlyListener()?.server.close();
    rmSync(dir, { recursive: true, force: true });
});

function early(env: Record<string, string>, argv = ['node', 'plugin']): Promise<{ listener: EarlyListener | undefined; printed: string[] }> {
    const printed: string[] = [];
    return new Promise((resolve) =>
        listenEarly(
            env,
            argv,
            (listener) => resolve({ listener, printed }),
            (line) => printed.push(line),
        ),
    );
}

function server(): PluginServer {
    return new PluginServer({
        registry: new Registry(buildActions({ log: quiet, env: {} })),
        logger: quiet,
        command: '/plugins/kubevirt-velero-plugin',
        onShutdown: () => undefined,
        shutdownGraceMs: 300,
    });
}

describe('listenEarly', () => {
    it.each([
        ['without Velero’s cookie', {}, ['node', 'plugin']],
        ['with a wrong cookie', { VELERO_PLUGIN: 'nope' }, ['node', 'plugin']],
        ['when no offered version is 2', { VELERO_PLUGIN: 'hello', PLUGIN_PROTOCOL_VERSIONS: '1,3' }, ['node', 'plugin']],
        ['for the preflight command', { VELERO_PLUGIN: 'hello' }, ['node', 'plugin', 'preflight']],
    ])('leaves the whole start to the program %s (nothing printed, no listener)', async (_name, env, argv) => {
        const { listener, printed } = await early({ ...env, PLUGIN_UNIX_SOCKET_DIR: dir }, argv);
        expect(listener).toBeUndefined();
        expect(printed).toEqual([]);
        expect(takeEarlyListener()).toBeUndefined();
    });

    it('prints the handshake line for a unix socket that is already listening, and leaves the listener for the program once', async () => {
        const { listener, printed } = await early({ ...VELERO, PLUGIN_UNIX_SOCKET_DIR: dir });
        expect(printed).toHaveLength(1);
        expect(printed[0]).toMatch(new RegExp(`^1\\|2\\|unix\\|${dir}/plugin\\d{10}\\|grpc\\|\\n$`));
        expect(existsSync(listener?.address.address ?? '')).toBe(true);
        expect(takeEarlyListener()).toBe(listener);
        expect(takeEarlyListener()).toBeUndefined();
        listener?.server.close();
    });

    it('falls back to TCP on loopback when the socket path would not fit, and prints the bound port', async () => {
        const { listener, printed } = await early({ ...VELERO, PLUGIN_UNIX_SOCKET_DIR: `/${'d'.repeat(120)}` });
        expect(listener?.address.network).toBe('tcp');
        expect(printed[0]).toMatch(/^1\|2\|tcp\|127\.0\.0\.1:\d+\|grpc\|\n$/);
        expect(printed[0]).not.toContain('127.0.0.1:0|');
    });

    it('leaves the start to the program when the socket cannot be opened (no line printed)', async () => {
        const { listener, printed } = await early({ ...VELERO, PLUGIN_UNIX_SOCKET_DIR: join(dir, 'missing') });
        expect(listener).toBeUndefined();
        expect(printed).toEqual([]);
    });
});

describe('PluginServer.adopt', () => {
    it('answers calls made before the server existed, and later ones, then closes the listener on stop', async () => {
        const { listener } = await early({ ...VELERO, PLUGIN_UNIX_SOCKET_DIR: dir });
        const socket = listener?.address.address as string;
        // Velero connects as soon as it has read the line: the call waits while the program loads.
        const before = unaryCall(socket, 'generated.PluginLister', 'ListPlugins', {});
        await new Promise((resolve) => setTimeout(resolve, 100));
        const plugin = server();
        expect(plugin.adopt(takeEarlyListener() as EarlyListener)).toEqual({ network: 'unix', address: socket });
        expect(((await before)['plugins'] as unknown[]).length).toBeGreaterThan(0);
        const after = await unaryCall(socket, 'generated.PluginLister', 'ListPlugins', {});
        expect(after['plugins']).toEqual((await before)['plugins']);
        await plugin.stop();
        expect(listener?.server.listening).toBe(false);
        expect(existsSync(socket)).toBe(false);
    });

    it('sends the Shutdown reply before stop() resolves', async () => {
        await early({ ...VELERO, PLUGIN_UNIX_SOCKET_DIR: dir });
        let stopped = false;
        const plugin = new PluginServer({
            registry: new Registry(buildActions({ log: quiet, env: {} })),
            logger: quiet,
            command: '/plugins/kubevirt-velero-plugin',
            onShutdown: () => (stopped = true),
            shutdownGraceMs: 300,
        });
        const { address } = plugin.adopt(takeEarlyListener() as EarlyListener);
        await expect(unaryCall(address, 'plugin.GRPCController', 'Shutdown', {})).resolves.toEqual({});
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(stopped).toBe(true);
    });
});
