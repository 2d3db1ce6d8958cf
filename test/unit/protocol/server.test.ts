/**
 * The gRPC layer against a real grpc-js server on a unix socket, called by a grpc-js client built from
 * the same embedded descriptors. (Velero's own Go client is exercised by test/conformance.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { PluginError } from '../../../src/errors';
import { Logger } from '../../../src/logging/logger';
import { buildActions } from '../../../src/plugin/actions';
import { backupDeclaration } from '../../../src/plugin/adapter';
import { Registry } from '../../../src/protocol/registry';
import { PluginServer } from '../../../src/protocol/server';
import type { ActionDeclaration } from '../../../src/protocol/types';
import { FIXTURES_DIR } from '../fixtures';
import { clientFor, unaryCall, type StreamingClient } from '../../support/grpc-client';

const quiet = new Logger('error', () => undefined);

// Action cores that fail, wired through the same adapter as the real actions.
const noCluster = (): never => {
    throw new Error('no cluster in this test');
};
const throwing: ActionDeclaration = backupDeclaration(
    {
        name: 'test.io/throws',
        appliesTo: { includedResources: ['pods'] },
        requiresBackup: false,
        execute: async () => {
            throw new TypeError("Cannot read properties of undefined (reading 'spec')");
        },
    },
    noCluster,
);
const refusing: ActionDeclaration = backupDeclaration(
    {
        name: 'test.io/refuses',
        appliesTo: { includedResources: ['pods'] },
        requiresBackup: false,
        execute: async () => {
            throw new PluginError('Refused', 'VM cannot be safely backed up');
        },
    },
    noCluster,
);

const surrogate: ActionDeclaration = backupDeclaration(
    {
        name: 'test.io/surrogate',
        appliesTo: { includedResources: ['pods'] },
        requiresBackup: false,
        execute: async ({ item }) => ({
            item,
            additionalItems: [
                { group: '', resource: 'persistentvolumeclaims', namespace: 'ns', name: 'ok' },
                { group: '', resource: 'persistentvolumeclaims', namespace: 'ns', name: 'bad\udfff' },
            ] as never,
        }),
    },
    noCluster,
);

let dir: string;
let server: PluginServer;
let address: string;
let shutdowns = 0;

function call(service: string, method: string, request: unknown): Promise<Record<string, unknown>> {
    return unaryCall(address, service, method, request);
}

beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvp-server-'));
    const registry = new Registry([...buildActions({ log: quiet, env: {} }), throwing, refusing, surrogate]);
    server = new PluginServer({ registry, logger: quiet, command: '/plugins/kubevirt-velero-plugin', onShutdown: () => shutdowns++, shutdownGraceMs: 300 });
    const bound = await server.listen({ network: 'unix', address: join(dir, 'plugin1') });
    address = bound.address;
});

afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
});

const PVC_ACTION = 'kubevirt-velero-plugin/backup-pvc-action';

describe('Velero services over gRPC', () => {
    it('ListPlugins reports the executed path as the command of every action', async () => {
        const response = await call('generated.PluginLister', 'ListPlugins', {});
        const plugins = response['plugins'] as { command: string; kind: string; name: string }[];
        expect(plugins.length).toBeGreaterThanOrEqual(12);
        expect(new Set(plugins.map((p) => p.command))).toEqual(new Set(['/plugins/kubevirt-velero-plugin']));
        expect(plugins.find((p) => p.name === PVC_ACTION)?.kind).toBe('BackupItemActionV2');
    });

    it('AppliesTo fills ResourceSelector (an empty message would select every resource)', async () => {
        const response = await call('v2.RestoreItemAction', 'AppliesTo', { plugin: 'kubevirt-velero-plugin/restore-pod-action' });
        expect(response['ResourceSelector']).toMatchObject({
            includedResources: ['pods'],
            selector: 'kubevirt.io in (virt-launcher, hotplug-disk)',
        });
    });

    it.each([
        ['empty bytes', Buffer.alloc(0), 'item is empty'],
        ['bytes that are not JSON', Buffer.from('not json'), 'item is not valid JSON'],
        ['a JSON array', Buffer.from('[1,2]'), 'item is not a JSON object'],
        ['JSON without kind', Buffer.from('{"metadata":{"name":"n","namespace":"ns"}}'), 'object ns/n: item has no kind'],
    ])('%s fail that call only, with UNKNOWN and a message', async (_name, item, message) => {
        await expect(call('v2.BackupItemAction', 'Execute', { plugin: PVC_ACTION, item, backup: Buffer.from('{}') })).rejects.toMatchObject({
            code: grpc.status.UNKNOWN,
            details: expect.stringContaining(message),
        });
        const ok = await call('v2.BackupItemAction', 'Execute', {
            plugin: PVC_ACTION,
            item: Buffer.from('{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"a","namespace":"ns"}}'),
            backup: Buffer.from('{}'),
        });
        expect(ok['item']).toBeInstanceOf(Buffer);
    });

    it('an unchanged item comes back byte-identical, big integers and odd spacing included', async () => {
        const bytes = readFileSync(join(FIXTURES_DIR, 'protocol', 'pvc-odd-bytes.json'));
        const response = await call('v2.BackupItemAction', 'Execute', { plugin: PVC_ACTION, item: bytes, backup: Buffer.from('{}') });
        expect(Buffer.compare(response['item'] as Buffer, bytes)).toBe(0);
        expect(response['operationID']).toBe('');
    });

    it('a changed item keeps unknown fields and integers beyond 2^53', async () => {
        const bytes = readFileSync(join(FIXTURES_DIR, 'protocol', 'pvc-odd-bytes.json'));
        const withUid = Buffer.from(bytes.toString().replace('"name":"odd"', '"name":"odd","uid":"u-1"'));
        const response = await call('v2.BackupItemAction', 'Execute', { plugin: PVC_ACTION, item: withUid, backup: Buffer.from('{}') });
        const text = (response['item'] as Buffer).toString();
        expect(text).toContain('"velero.kubevirt.io/pvc-uid":"u-1"');
        expect(text).toContain('"unknownField":{"big":12345678901234567890,"f":1.0}');
    });

    it('an unknown plugin name is an error naming it', async () => {
        await expect(call('v2.BackupItemAction', 'AppliesTo', { plugin: 'nobody.io/nothing' })).rejects.toMatchObject({
            code: grpc.status.UNKNOWN,
            details: 'BackupItemActionV2 plugin: nobody.io/nothing was not found or has an invalid name format',
        });
    });

    it.each([
        ['a refusal', 'test.io/refuses', 'Pod ns/p: VM cannot be safely backed up'],
        ['an unexpected exception', 'test.io/throws', "Pod ns/p: Cannot read properties of undefined (reading 'spec')"],
    ])('%s reaches the client as UNKNOWN naming the item, and the server keeps serving', async (_name, plugin, details) => {
        const item = Buffer.from('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns"}}');
        await expect(call('v2.BackupItemAction', 'Execute', { plugin, item, backup: Buffer.from('{}') })).rejects.toMatchObject({
            code: grpc.status.UNKNOWN,
            details,
        });
        await expect(call('grpc.health.v1.Health', 'Check', { service: 'plugin' })).resolves.toEqual({ status: 'SERVING' });
    });

    it.each([
        ['plugin', 'SERVING'],
        ['', 'SERVING'],
    ])('health of service %p is %s', async (service, status) => {
        await expect(call('grpc.health.v1.Health', 'Check', { service })).resolves.toEqual({ status });
    });

    it('health of an unknown service is NOT_FOUND', async () => {
        await expect(call('grpc.health.v1.Health', 'Check', { service: 'other' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    });

    it('v2 Progress refuses (no operation is ever started), Cancel is a no-op, items are always ready', async () => {
        await expect(call('v2.BackupItemAction', 'Progress', { plugin: PVC_ACTION, operationID: 'op' })).rejects.toMatchObject({
            code: grpc.status.UNKNOWN,
            details: expect.stringContaining('starts no asynchronous operations'),
        });
        await expect(call('v2.BackupItemAction', 'Cancel', { plugin: PVC_ACTION, operationID: 'op' })).resolves.toEqual({});
        await expect(call('v2.RestoreItemAction', 'AreAdditionalItemsReady', { plugin: 'kubevirt-velero-plugin/restore-pvc-action', additionalItems: [] })).resolves.toEqual({
            ready: true,
        });
    });

    it('parallel calls give the serial results', async () => {
        const items = Array.from({ length: 40 }, (_, i) =>
            Buffer.from(`{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"p${i}","namespace":"ns","uid":"u${i}"}}`),
        );
        const serial: Buffer[] = [];
        for (const item of items) serial.push((await call('v2.BackupItemAction', 'Execute', { plugin: PVC_ACTION, item, backup: Buffer.from('{}') }))['item'] as Buffer);
        const parallel = await Promise.all(items.map((item) => call('v2.BackupItemAction', 'Execute', { plugin: PVC_ACTION, item, backup: Buffer.from('{}') })));
        expect(parallel.map((r) => (r['item'] as Buffer).toString())).toEqual(serial.map((b) => b.toString()));
    });
});

describe('error text Velero can receive', () => {
    it('a lone surrogate from an item name is replaced, so the reply is sent (grpc-js would throw encoding it)', async () => {
        const item = Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: '\ud800x', namespace: 'ns' } }));
        const error = await call('v2.BackupItemAction', 'Execute', { plugin: 'test.io/refuses', item, backup: Buffer.from('{}') }).then(
            () => undefined,
            (e: grpc.ServiceError) => e,
        );
        expect(error?.code).toBe(grpc.status.UNKNOWN);
        expect(error?.details).toBe('Pod ns/\ufffdx: VM cannot be safely backed up');
    });

    it('a reference whose name is not valid Unicode is dropped; the reply still goes out', async () => {
        const item = Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' } }));
        const response = await call('v2.BackupItemAction', 'Execute', { plugin: 'test.io/surrogate', item, backup: Buffer.from('{}') });
        expect(response['additionalItems']).toEqual([{ group: '', resource: 'persistentvolumeclaims', namespace: 'ns', name: 'ok' }]);
    });
});

describe('go-plugin internal services', () => {
    it('Shutdown replies, ends the stdio and broker streams with OK and then reports shutdown', async () => {
        const stdioClient = clientFor<StreamingClient>('plugin.GRPCStdio', address);
        const stdio = stdioClient['StreamStdio']!({});
        const stdioStatus = new Promise<grpc.StatusObject>((resolve) => stdio.on('status', resolve));
        stdio.on('data', () => undefined);
        stdio.on('error', () => undefined);
        await new Promise((r) => setTimeout(r, 50));

        await expect(call('plugin.GRPCController', 'Shutdown', {})).resolves.toEqual({});
        expect((await stdioStatus).code).toBe(grpc.status.OK);
        for (let i = 0; i < 50 && shutdowns === 0; i++) await new Promise((r) => setTimeout(r, 20));
        expect(shutdowns).toBe(1);
        stdioClient.close();
    });
});
