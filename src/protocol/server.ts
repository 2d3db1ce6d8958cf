/**
 * The go-plugin gRPC server and Velero's plugin services. It knows the wire (grpc-js, the static
 * codecs, go-plugin's internal services) and dispatches each call by its `plugin` field to the
 * registry. It knows nothing of KubeVirt.
 */
import { rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { toPluginError } from '../errors';
import type { Logger } from '../logging/logger';
import { serviceDefinition } from './codec';
import type { EarlyListener } from './early';
import type { ListenAddress } from './handshake';
import type { Registry } from './registry';
import type { ActionKind, CallContext, ResourceIdentifier, ResourceSelector } from './types';

/** Requests carry the item JSON plus the Backup/Restore JSON (twice the item on restore). */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export interface ServerOptions {
    registry: Registry;
    logger: Logger;
    /** The exact path Velero executed; Velero re-executes it later. */
    command: string;
    /** Called once the Shutdown reply has been sent and the server has stopped. */
    onShutdown: () => void;
    /** Called as soon as Shutdown has been answered (work in flight can be abandoned from here). */
    onShutdownRequested?: () => void;
    /** How long Shutdown waits for in-flight calls before forcing the server down. */
    shutdownGraceMs?: number;
}

interface WithPlugin {
    plugin: string;
}

interface Bytes {
    item: Buffer;
}

type AnyStream = grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

function selectorMessage(selector: ResourceSelector): Required<ResourceSelector> {
    return {
        includedNamespaces: selector.includedNamespaces ?? [],
        excludedNamespaces: selector.excludedNamespaces ?? [],
        includedResources: selector.includedResources ?? [],
        excludedResources: selector.excludedResources ?? [],
        selector: selector.selector ?? '',
    };
}

/**
 * The identifiers to send. One whose text is not well-formed (a lone surrogate from an item's names)
 * cannot be encoded as the UTF-8 that protobuf strings must be, and names no object Kubernetes can hold:
 * it is dropped with a warning instead of failing the whole reply.
 */
function identifiers(items: readonly ResourceIdentifier[], log: Logger): ResourceIdentifier[] {
    const out: ResourceIdentifier[] = [];
    for (const i of items) {
        const fields = [i.group, i.resource, i.namespace, i.name];
        if (fields.some((f) => typeof f !== 'string' || wellFormed(f) !== f)) {
            log.warn('dropped a reference whose text is not valid Unicode', { reference: fields.map((f) => wellFormed(String(f))).join('/') });
            continue;
        }
        out.push({ group: i.group, resource: i.resource, namespace: i.namespace, name: i.name });
    }
    return out;
}

function asBuffer(value: unknown): Buffer {
    return Buffer.isBuffer(value) ? value : Buffer.alloc(0);
}

export class PluginServer {
    private readonly server: grpc.Server;
    private readonly streams = new Set<AnyStream>();
    private stopping = false;
    /** The listener taken over from the loader (adopt), closed on stop, and the connections it accepted. */
    private adopted: EarlyListener | undefined;
    private readonly adoptedSockets = new Set<Socket>();

    constructor(private readonly options: ServerOptions) {
        this.server = new grpc.Server({
            'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
            'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
        });
        this.addGoPluginServices();
        this.addVeleroServices();
    }

    /** Binds the listener; resolves with the address to announce in the handshake line. */
    async listen(address: ListenAddress): Promise<ListenAddress> {
        const target = address.network === 'unix' ? `unix://${address.address}` : address.address;
        if (address.network === 'unix') rmSync(address.address, { force: true });
        const port = await new Promise<number>((resolve, reject) => {
            this.server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
        });
        if (address.network === 'unix') return address;
        return { network: 'tcp', address: `127.0.0.1:${port}` };
    }

    /**
     * Serves on the listener the loader opened before the program was loaded (src/protocol/early.ts):
     * every connection it accepted, and every later one, goes to grpc-js as if grpc-js had accepted it.
     */
    adopt(early: EarlyListener): ListenAddress {
        const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
        this.adopted = early;
        early.handOver((socket) => {
            this.adoptedSockets.add(socket);
            socket.once('close', () => this.adoptedSockets.delete(socket));
            injector.injectConnection(socket);
        });
        return early.address;
    }

    /** Ends open streams cleanly (status OK) and stops the server; forced after the grace period. */
    stop(): Promise<void> {
        this.stopping = true;
        // An adopted listener is closed here (grpc-js closes only its own listeners).
        this.adopted?.server.close();
        for (const stream of this.streams) endStream(stream);
        this.streams.clear();
        return new Promise((resolve) => {
            const timer = setTimeout(() => {
                this.server.forceShutdown();
                resolve();
            }, this.options.shutdownGraceMs ?? 1000);
            this.server.tryShutdown(() => {
                void this.flushed().then(() => {
                    clearTimeout(timer);
                    resolve();
                });
            });
        });
    }

    /**
     * Resolves once every adopted connection has written all it had: grpc-js reports a session closed
     * when http2 has only begun ending its socket, and for a connection grpc-js did not accept itself
     * nothing else waits for that end; the process would exit with the last reply (Shutdown's) unsent.
     * 'finish' needs no answer from the client (only the kernel taking the bytes).
     */
    private flushed(): Promise<void> {
        const pending = [...this.adoptedSockets].filter((socket) => !socket.writableFinished && !socket.destroyed);
        return Promise.all(
            pending.map(
                (socket) =>
                    new Promise<void>((resolve) => {
                        socket.once('finish', resolve);
                        socket.once('close', resolve);
                    }),
            ),
        ).then(() => undefined);
    }

    private context(kind: ActionKind, plugin: string): CallContext {
        return { log: this.options.logger.with({ action: plugin, kind }) };
    }

    /** Wraps an async handler: any failure becomes UNKNOWN with a message naming the item and reason. */
    private unary<Req, Res>(method: string, handler: (request: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
        return (call, callback) => {
            Promise.resolve()
                .then(() => handler(call.request))
                .then(
                    (response) => callback(null, response),
                    (error: unknown) => {
                        const failure = toPluginError(error);
                        const plugin = (call.request as Partial<WithPlugin> | undefined)?.plugin ?? '';
                        this.options.logger.debug(`${method} failed`, { action: plugin, reason: failure.reason, error: failure.message });
                        callback({ code: grpc.status.UNKNOWN, details: wellFormed(failure.message) });
                    },
                );
        };
    }

    private addGoPluginServices(): void {
        this.server.addService(serviceDefinition('grpc.health.v1.Health'), {
            Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
                const known = call.request.service === '' || call.request.service === 'plugin';
                if (known) callback(null, { status: 'SERVING' });
                else callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${call.request.service}` });
            },
            Watch: (call: grpc.ServerWritableStream<{ service: string }, unknown>) => {
                this.track(call);
                const known = call.request.service === '' || call.request.service === 'plugin';
                call.write({ status: known ? 'SERVING' : 'SERVICE_UNKNOWN' });
            },
        });
        this.server.addService(serviceDefinition('plugin.GRPCController'), {
            Shutdown: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
                this.options.logger.debug('shutdown requested');
                callback(null, {});
                // Reply first, then stop: the client waits for the reply, then for the process to exit.
                setImmediate(() => {
                    this.options.onShutdownRequested?.();
                    void this.stop().then(() => this.options.onShutdown());
                });
            },
        });
        this.server.addService(serviceDefinition('plugin.GRPCStdio'), {
            // Logs go straight to stderr, so there is never anything to forward; the stream stays open
            // until shutdown and then ends with OK, which the client accepts silently.
            StreamStdio: (call: grpc.ServerWritableStream<unknown, unknown>) => this.track(call),
        });
        this.server.addService(serviceDefinition('plugin.GRPCBroker'), {
            StartStream: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
                this.track(call);
                call.on('data', () => undefined);
                call.on('end', () => endStream(call));
                call.on('error', () => undefined);
            },
        });
    }

    private track(call: AnyStream): void {
        if (this.stopping) {
            endStream(call);
            return;
        }
        this.streams.add(call);
        call.on('cancelled', () => this.streams.delete(call));
        call.on('close', () => this.streams.delete(call));
    }

    private addVeleroServices(): void {
        const { registry, command } = this.options;
        this.server.addService(serviceDefinition('generated.PluginLister'), {
            ListPlugins: this.unary('ListPlugins', async () => ({
                plugins: registry.list().map((d) => ({ command, kind: d.kind, name: d.name })),
            })),
        });

        this.server.addService(serviceDefinition('v2.BackupItemAction'), {
            AppliesTo: this.unary('BackupItemAction/AppliesTo', async (request: WithPlugin) => ({
                ResourceSelector: selectorMessage(registry.get('BackupItemActionV2', request.plugin).selector),
            })),
            Execute: this.unary('BackupItemAction/Execute', async (request: WithPlugin & Bytes & { backup: Buffer }) => {
                const action = registry.get('BackupItemActionV2', request.plugin);
                const result = await action.execute({ item: asBuffer(request.item), backup: asBuffer(request.backup) }, this.context(action.kind, action.name));
                return { item: result.item, additionalItems: identifiers(result.additionalItems, this.options.logger), operationID: '', postOperationItems: [] };
            }),
            Progress: this.unary('BackupItemAction/Progress', async (request: WithPlugin & { operationID: string }) => {
                registry.get('BackupItemActionV2', request.plugin);
                throw new Error(`${request.plugin} starts no asynchronous operations; unknown operation ID "${request.operationID}"`);
            }),
            Cancel: this.unary('BackupItemAction/Cancel', async (request: WithPlugin) => {
                registry.get('BackupItemActionV2', request.plugin);
                return {};
            }),
        });

        this.server.addService(serviceDefinition('v2.RestoreItemAction'), {
            AppliesTo: this.unary('RestoreItemAction/AppliesTo', async (request: WithPlugin) => ({
                ResourceSelector: selectorMessage(registry.get('RestoreItemActionV2', request.plugin).selector),
            })),
            Execute: this.unary('RestoreItemAction/Execute', async (request: WithPlugin & Bytes & { restore: Buffer; itemFromBackup: Buffer }) => {
                const action = registry.get('RestoreItemActionV2', request.plugin);
                const result = await action.execute(
                    { item: asBuffer(request.item), restore: asBuffer(request.restore), itemFromBackup: asBuffer(request.itemFromBackup) },
                    this.context(action.kind, action.name),
                );
                return {
                    item: result.item,
                    additionalItems: identifiers(result.additionalItems, this.options.logger),
                    skipRestore: result.skipRestore,
                    operationID: '',
                    waitForAdditionalItems: result.waitForAdditionalItems ?? false,
                };
            }),
            Progress: this.unary('RestoreItemAction/Progress', async (request: WithPlugin & { operationID: string }) => {
                registry.get('RestoreItemActionV2', request.plugin);
                throw new Error(`${request.plugin} starts no asynchronous operations; unknown operation ID "${request.operationID}"`);
            }),
            Cancel: this.unary('RestoreItemAction/Cancel', async (request: WithPlugin) => {
                registry.get('RestoreItemActionV2', request.plugin);
                return {};
            }),
            AreAdditionalItemsReady: this.unary('RestoreItemAction/AreAdditionalItemsReady', async (request: WithPlugin) => {
                registry.get('RestoreItemActionV2', request.plugin);
                return { ready: true };
            }),
        });

        this.server.addService(serviceDefinition('v1.ItemBlockAction'), {
            AppliesTo: this.unary('ItemBlockAction/AppliesTo', async (request: WithPlugin) => ({
                ResourceSelector: selectorMessage(registry.get('ItemBlockAction', request.plugin).selector),
            })),
            GetRelatedItems: this.unary('ItemBlockAction/GetRelatedItems', async (request: WithPlugin & Bytes & { backup: Buffer }) => {
                const action = registry.get('ItemBlockAction', request.plugin);
                const related = await action.relatedItems({ item: asBuffer(request.item), backup: asBuffer(request.backup) }, this.context(action.kind, action.name));
                return { relatedItems: identifiers(related, this.options.logger) };
            }),
        });
    }
}

/**
 * Error text with lone surrogates (from an item's names) replaced by U+FFFD. grpc-js percent-encodes
 * the text into the grpc-message header, and encodeURIComponent throws on a lone surrogate: the reply
 * would never be sent and Velero's call would hang.
 */
export function wellFormed(text: string): string {
    return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

function endStream(stream: AnyStream): void {
    try {
        stream.end();
    } catch {
        // already closed
    }
}
