/**
 * Runs the calls of large items on a worker thread. An item can take seconds of synchronous work
 * (parsing, cloning and writing a 100,000-volume VM); on the gRPC thread that would hold up
 * GRPCController/Shutdown beyond go-plugin's 2 s grace, and health checks with it. With that work on a
 * worker, the gRPC thread answers Shutdown at once and exits, which ends the worker.
 *
 * Calls whose request is smaller than `inlineBelowBytes` run on the gRPC thread: their synchronous work
 * is milliseconds, and a worker costs about 25 MiB of memory and 100 ms to start (a second isolate with
 * the whole bundle), which a plugin inside Velero's 512 MiB pod must not pay for ordinary VMs. The worker
 * is started only by the first large item. Its cluster reads have their own per-process cache.
 *
 * The gRPC thread keeps the declarations for their names and selectors and replaces their calls by
 * messages to the worker. A worker that dies (out of memory, a bug) fails the calls in flight with an
 * item-level error and is started again on the next call: the process keeps serving.
 */
import type { Worker } from 'node:worker_threads';
import { PluginError, toPluginError, type ErrorReason, type ItemRef } from '../errors';
import type { Logger } from '../logging/logger';
import type { ActionDeclaration, ActionKind, BackupExecuteResult, ResourceIdentifier, RestoreExecuteResult } from './types';

type Operation = 'execute' | 'relatedItems';

interface CallMessage {
    id: number;
    kind: ActionKind;
    name: string;
    op: Operation;
    request: Record<string, Uint8Array>;
}

interface SerializedError {
    reason: ErrorReason;
    detail: string;
    item?: ItemRef;
}

type ReplyMessage = { id: number; result: unknown } | { id: number; error: SerializedError };

export interface MessagePortLike {
    postMessage(message: unknown): void;
    on(event: 'message', listener: (message: unknown) => void): unknown;
}

function toBuffer(value: unknown): unknown {
    return value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
}

/** Buffers arrive as plain Uint8Arrays; turn the top-level fields back into Buffers. */
function buffers<T>(fields: unknown): T {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields as Record<string, unknown>)) out[k] = toBuffer(v);
    return out as T;
}

function serialize(error: unknown): SerializedError {
    const failure = toPluginError(error);
    return { reason: failure.reason, detail: failure.detail, ...(failure.item ? { item: { ...failure.item } } : {}) };
}

/** Worker side: answers call messages with the real declarations. */
export function serveCalls(port: MessagePortLike, declarations: readonly ActionDeclaration[], log: Logger): void {
    const byKey = new Map(declarations.map((d) => [`${d.kind}\u0000${d.name}`, d]));
    port.on('message', (raw) => {
        const message = raw as CallMessage;
        const reply = (body: { result: unknown } | { error: SerializedError }): void => port.postMessage({ id: message.id, ...body });
        Promise.resolve()
            .then(async () => {
                const declaration = byKey.get(`${message.kind}\u0000${message.name}`);
                if (!declaration) throw new PluginError('UnknownPlugin', `${message.kind} plugin: ${message.name} was not found or has an invalid name format`);
                const context = { log: log.with({ action: declaration.name, kind: declaration.kind }) };
                const request = buffers<never>(message.request);
                if (declaration.kind === 'ItemBlockAction') return declaration.relatedItems(request, context);
                return declaration.execute(request, context);
            })
            .then(
                (result) => reply({ result }),
                (error: unknown) => reply({ error: serialize(error) }),
            );
    });
}

/** gRPC side: a pool of one worker, started on the first call and again after it dies. */
export class Offload {
    private worker: Worker | undefined;
    private stopping: Promise<void> | undefined;
    private nextId = 1;
    private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

    constructor(
        private readonly start: () => Worker,
        private readonly log: Logger,
    ) {}

    /**
     * The same declarations; calls with a request of `inlineBelowBytes` or more run on the worker, the
     * others here (Infinity: always here; 0: always on the worker).
     */
    wrap(declarations: readonly ActionDeclaration[], inlineBelowBytes: number): ActionDeclaration[] {
        const large = (request: object): boolean => requestBytes(request) >= inlineBelowBytes;
        return declarations.map((d): ActionDeclaration => {
            const base = { name: d.name, selector: d.selector };
            switch (d.kind) {
                case 'BackupItemActionV2':
                    return {
                        ...base,
                        kind: d.kind,
                        execute: (request, context) =>
                            large(request) ? this.call(d.kind, d.name, 'execute', { ...request }).then((r) => asResult<BackupExecuteResult>(r)) : d.execute(request, context),
                    };
                case 'RestoreItemActionV2':
                    return {
                        ...base,
                        kind: d.kind,
                        execute: (request, context) =>
                            large(request) ? this.call(d.kind, d.name, 'execute', { ...request }).then((r) => asResult<RestoreExecuteResult>(r)) : d.execute(request, context),
                    };
                case 'ItemBlockAction':
                    return {
                        ...base,
                        kind: d.kind,
                        relatedItems: (request, context) =>
                            large(request) ? (this.call(d.kind, d.name, 'relatedItems', { ...request }) as Promise<ResourceIdentifier[]>) : d.relatedItems(request, context),
                    };
            }
        });
    }

    /** Stops the worker (calls in flight fail); calls made while it stops wait for the same stop. */
    stop(): Promise<void> {
        const worker = this.worker;
        this.worker = undefined;
        if (worker) this.stopping = worker.terminate().then(() => undefined);
        return this.stopping ?? Promise.resolve();
    }

    private call(kind: ActionKind, name: string, op: Operation, request: Record<string, Buffer>): Promise<unknown> {
        const id = this.nextId++;
        const worker = this.ensureWorker();
        return new Promise((resolve, reject) => {
            this.pending.set(id, { resolve, reject });
            const message: CallMessage = { id, kind, name, op, request };
            worker.postMessage(message);
        });
    }

    private ensureWorker(): Worker {
        if (this.worker) return this.worker;
        const worker = this.start();
        this.worker = worker;
        worker.on('message', (raw: ReplyMessage) => {
            const waiter = this.pending.get(raw.id);
            if (!waiter) return;
            this.pending.delete(raw.id);
            if ('error' in raw) {
                const e = raw.error;
                waiter.reject(new PluginError(e.reason, e.detail, e.item ? { item: e.item } : {}));
            } else waiter.resolve(raw.result);
        });
        const lost = (why: string): void => {
            if (this.worker !== worker) return;
            this.worker = undefined;
            if (this.pending.size > 0) this.log.error('action worker stopped; calls in flight fail, the next call starts a new worker', { error: why });
            for (const waiter of this.pending.values()) {
                waiter.reject(new PluginError('Internal', `the action worker stopped while this item was processed (${why}); retrying the item may succeed`));
            }
            this.pending.clear();
        };
        worker.on('error', (error) => lost(error instanceof Error ? error.message : String(error)));
        worker.on('exit', (code) => lost(`exit code ${code}`));
        // The worker must never keep the process alive on its own: the gRPC server does that.
        worker.unref();
        return worker;
    }
}

/** Bytes of the request's byte fields (the item, the Backup or Restore, the item from the backup). */
function requestBytes(request: object): number {
    let total = 0;
    for (const value of Object.values(request)) if (value instanceof Uint8Array) total += value.byteLength;
    return total;
}

function asResult<T>(value: unknown): T {
    const result = value as Record<string, unknown>;
    return { ...result, item: toBuffer(result['item']) } as T;
}
