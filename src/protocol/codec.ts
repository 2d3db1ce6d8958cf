/**
 * gRPC service definitions built from the descriptor set and the static message classes that
 * scripts/gen-proto.mjs generates at build time. Nothing is compiled or reflected at run time, which
 * keeps the plugin's start-up short (Velero starts a fresh process for every backup and restore).
 * Decoded messages are plain objects with the proto field names: int64 as strings, enums as names,
 * unset fields filled with defaults, bytes as Buffers.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import descriptors from './generated/descriptors.json';
import messages = require('./generated/messages');

interface StaticMessage {
    encode(message: unknown): { finish(): Uint8Array };
    decode(bytes: Uint8Array): unknown;
    fromObject(object: unknown): unknown;
    toObject(message: unknown, options: Record<string, unknown>): Record<string, unknown>;
}

interface MethodDescriptor {
    requestType: string;
    responseType: string;
    requestStream?: boolean;
    responseStream?: boolean;
}

interface NamespaceDescriptor {
    nested?: Record<string, NamespaceDescriptor>;
    methods?: Record<string, MethodDescriptor>;
}

const TO_OBJECT = { longs: String, enums: String, defaults: true, oneofs: true };

function lookup<T>(root: unknown, path: readonly string[]): T | undefined {
    let node: unknown = root;
    for (const part of path) {
        if (node === null || typeof node !== 'object') return undefined;
        node = (node as Record<string, unknown>)[part];
    }
    return node as T | undefined;
}

function descriptorOf(fullName: string): NamespaceDescriptor | undefined {
    const path = fullName.split('.').flatMap((part) => ['nested', part]);
    return lookup<NamespaceDescriptor>(descriptors, path);
}

/** Resolves a type name as protoc does: relative to the service's package first, then absolute. */
function messageType(name: string, pkg: readonly string[]): StaticMessage {
    for (let depth = pkg.length; depth >= 0; depth--) {
        const found = lookup<StaticMessage>(messages, [...pkg.slice(0, depth), ...name.split('.')]);
        if (found && typeof found.encode === 'function') return found;
    }
    throw new Error(`the generated messages have no type ${name} (package ${pkg.join('.')})`);
}

function serializer(type: StaticMessage): (value: unknown) => Buffer {
    return (value) => {
        const bytes = type.encode(type.fromObject(value ?? {})).finish();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    };
}

function deserializer(type: StaticMessage): (bytes: Buffer) => Record<string, unknown> {
    return (bytes) => type.toObject(type.decode(bytes), TO_OBJECT);
}

const cache = new Map<string, ServiceDefinition>();

/** The grpc-js definition of a service, e.g. "v2.BackupItemAction" or "grpc.health.v1.Health". */
export function serviceDefinition(fullName: string): ServiceDefinition {
    const cached = cache.get(fullName);
    if (cached) return cached;
    const service = descriptorOf(fullName);
    if (!service?.methods) throw new Error(`the embedded descriptor set has no service ${fullName}`);
    const pkg = fullName.split('.').slice(0, -1);
    const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
    for (const [name, method] of Object.entries(service.methods)) {
        const request = messageType(method.requestType, pkg);
        const response = messageType(method.responseType, pkg);
        definition[name] = {
            path: `/${fullName}/${name}`,
            requestStream: method.requestStream === true,
            responseStream: method.responseStream === true,
            requestSerialize: serializer(request),
            requestDeserialize: deserializer(request),
            responseSerialize: serializer(response),
            responseDeserialize: deserializer(response),
            originalName: name,
        };
    }
    cache.set(fullName, definition);
    return definition;
}
