/**
 * The static codec the plugin runs with, checked against protobufjs reflection over the .proto files
 * themselves (@grpc/proto-loader reading proto/ at test time): each side decodes what the other encodes
 * to the same message. (Bytes may differ only where protobufjs 7 reflection writes proto3 default
 * values that the generated code, like Go, leaves out; both decode them alike.)
 */
import { join } from 'node:path';
import { loadSync, type MessageTypeDefinition, type PackageDefinition } from '@grpc/proto-loader';
import type { MethodDefinition } from '@grpc/grpc-js';
import { serviceDefinition } from '../../../src/protocol/codec';

const PROTO = join(__dirname, '..', '..', '..', 'proto');
const reference: PackageDefinition = loadSync(
    [
        'velero/PluginLister.proto',
        'velero/backupitemaction/v2/BackupItemAction.proto',
        'velero/restoreitemaction/v2/RestoreItemAction.proto',
        'velero/itemblockaction/v1/ItemBlockAction.proto',
        'go-plugin/grpc_controller.proto',
        'go-plugin/grpc_stdio.proto',
        'go-plugin/grpc_broker.proto',
        'grpc/health/v1/health.proto',
    ],
    { includeDirs: [PROTO, join(PROTO, 'velero')], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true },
);

function referenceMethod(service: string, method: string): MethodDefinition<unknown, unknown> {
    const definition = reference[service] as unknown as Record<string, MethodDefinition<unknown, unknown>>;
    return definition[method] as MethodDefinition<unknown, unknown>;
}

const item = Buffer.from('{"kind":"Pod","metadata":{"name":"p"}}');
const ids = [
    { group: 'cdi.kubevirt.io', resource: 'datavolumes', namespace: 'ns', name: 'dv' },
    { group: '', resource: 'persistentvolumeclaims', namespace: 'ns', name: 'dv' },
];

describe('the static codec is wire-identical to the .proto files', () => {
    it.each([
        ['generated.PluginLister', 'ListPlugins', 'response', { plugins: [{ command: '/plugins/p', kind: 'ItemBlockAction', name: 'a.io/b' }] }],
        ['v2.BackupItemAction', 'AppliesTo', 'response', { ResourceSelector: { includedResources: ['pods'], selector: 'a in (b)' } }],
        ['v2.BackupItemAction', 'Execute', 'request', { plugin: 'a.io/b', item, backup: Buffer.from('{}') }],
        ['v2.BackupItemAction', 'Execute', 'response', { item, additionalItems: ids, operationID: '', postOperationItems: [] }],
        ['v2.RestoreItemAction', 'Execute', 'request', { plugin: 'a.io/b', item, restore: Buffer.from('{}'), itemFromBackup: item }],
        ['v2.RestoreItemAction', 'Execute', 'response', { item, additionalItems: ids, skipRestore: true, waitForAdditionalItems: true }],
        ['v2.RestoreItemAction', 'AreAdditionalItemsReady', 'request', { plugin: 'a.io/b', restore: Buffer.from('{}'), additionalItems: ids }],
        ['v1.ItemBlockAction', 'GetRelatedItems', 'response', { relatedItems: ids }],
        ['grpc.health.v1.Health', 'Check', 'response', { status: 'SERVING' }],
        ['plugin.GRPCBroker', 'StartStream', 'request', { service_id: 7, network: 'unix', address: '/x', knock: { knock: true } }],
        ['plugin.GRPCStdio', 'StreamStdio', 'response', { channel: 'STDERR', data: Buffer.from('x') }],
    ])('%s/%s %s', (service, method, direction, message) => {
        const ours = serviceDefinition(service)[method] as MethodDefinition<unknown, unknown>;
        const theirs = referenceMethod(service, method);
        const encode = direction === 'request' ? [ours.requestSerialize, theirs.requestSerialize] : [ours.responseSerialize, theirs.responseSerialize];
        const decode = direction === 'request' ? [ours.requestDeserialize, theirs.requestDeserialize] : [ours.responseDeserialize, theirs.responseDeserialize];
        const oursBytes = encode[0]!(message);
        const theirBytes = encode[1]!(message);
        expect(oursBytes.length).toBeGreaterThan(0);
        expect(oursBytes.length).toBeLessThanOrEqual(theirBytes.length);
        const decodedByThem = decode[1]!(oursBytes);
        expect(decode[0]!(theirBytes)).toEqual(decodedByThem);
        expect(decode[0]!(oursBytes)).toEqual(decodedByThem);
        expect(decodedByThem).toMatchObject(message);
        expect(ours.path).toBe(theirs.path);
    });

    it('every service of the .proto files has the same methods, paths and streaming flags', () => {
        for (const [name, definition] of Object.entries(reference)) {
            if ((definition as MessageTypeDefinition<unknown, unknown>).format !== undefined) continue;
            const ours = serviceDefinition(name);
            const theirs = definition as unknown as Record<string, MethodDefinition<unknown, unknown>>;
            expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
            for (const [method, m] of Object.entries(theirs)) {
                expect([ours[method]?.path, ours[method]?.requestStream, ours[method]?.responseStream]).toEqual([m.path, m.requestStream, m.responseStream]);
            }
        }
    });

    it('an AppliesTo response keyed resourceSelector would encode to nothing (the Velero match-all trap)', () => {
        const ours = serviceDefinition('v2.BackupItemAction')['AppliesTo'] as MethodDefinition<unknown, unknown>;
        expect(ours.responseSerialize({ resourceSelector: { includedResources: ['pods'] } }).length).toBe(0);
        expect(ours.responseSerialize({ ResourceSelector: { includedResources: ['pods'] } }).length).toBeGreaterThan(0);
    });
});
