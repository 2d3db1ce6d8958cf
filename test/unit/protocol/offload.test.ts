/**
 * The action worker's message protocol (src/protocol/offload.ts) over a real MessageChannel: results
 * and errors come back as they left, and a worker that dies fails only the calls in flight.
 */
import { EventEmitter } from 'node:events';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { PluginError } from '../../../src/errors';
import { Logger } from '../../../src/logging/logger';
import { Offload, serveCalls } from '../../../src/protocol/offload';
import type { ActionDeclaration, BackupItemActionDeclaration, ItemBlockActionDeclaration } from '../../../src/protocol/types';

const quiet = new Logger('error', () => undefined);

let never: () => void = () => undefined;
const declarations: ActionDeclaration[] = [
    {
        kind: 'BackupItemActionV2',
        name: 'test.io/echo',
        selector: { includedResources: ['pods'] },
        execute: async (request) => {
            if (request.item.toString() === 'refuse') throw new PluginError('Refused', 'no', { item: { kind: 'Pod', namespace: 'ns', name: 'p' } });
            if (request.item.toString() === 'hang') await new Promise<void>((resolve) => (never = resolve));
            return { item: Buffer.concat([request.item, request.backup]), additionalItems: [{ group: '', resource: 'pods', namespace: 'ns', name: 'x' }] };
        },
    },
    {
        kind: 'ItemBlockAction',
        name: 'test.io/block',
        selector: {},
        relatedItems: async () => [{ group: 'kubevirt.io', resource: 'virtualmachines', namespace: 'ns', name: 'vm' }],
    },
];

/** A stand-in for a Worker: the real message channel, serveCalls on the far end. */
class ChannelWorker extends EventEmitter {
    private readonly port: MessagePort;
    private readonly far: MessagePort;
    constructor() {
        super();
        const { port1, port2 } = new MessageChannel();
        this.far = port1;
        this.port = port2;
        serveCalls(port1, declarations, quiet);
        port2.on('message', (m) => this.emit('message', m));
    }
    postMessage(message: unknown): void {
        this.port.postMessage(message);
    }
    unref(): void {
        this.port.unref();
        this.far.unref();
    }
    async terminate(): Promise<number> {
        this.port.close();
        this.far.close();
        this.emit('exit', 1);
        return 1;
    }
}

let started: ChannelWorker[] = [];
let offload: Offload;

beforeEach(() => {
    started = [];
    offload = new Offload(() => {
        const w = new ChannelWorker();
        started.push(w);
        return w as unknown as Worker;
    }, quiet);
});

afterEach(async () => {
    never();
    await offload.stop();
});

const echo = (): BackupItemActionDeclaration => offload.wrap(declarations, 0)[0] as BackupItemActionDeclaration;

describe('calls on the action worker', () => {
    it('keeps names and selectors, and starts the worker only on the first call', async () => {
        const wrapped = offload.wrap(declarations, 0);
        expect(wrapped.map((d) => [d.kind, d.name, d.selector])).toEqual(declarations.map((d) => [d.kind, d.name, d.selector]));
        expect(started).toHaveLength(0);
        const result = await echo().execute({ item: Buffer.from('a'), backup: Buffer.from('b') }, { log: quiet });
        expect(Buffer.isBuffer(result.item)).toBe(true);
        expect(result.item.toString()).toBe('ab');
        expect(result.additionalItems).toEqual([{ group: '', resource: 'pods', namespace: 'ns', name: 'x' }]);
        const related = await (offload.wrap(declarations, 0)[1] as ItemBlockActionDeclaration).relatedItems({ item: Buffer.from('{}'), backup: Buffer.alloc(0) }, { log: quiet });
        expect(related).toEqual([{ group: 'kubevirt.io', resource: 'virtualmachines', namespace: 'ns', name: 'vm' }]);
        expect(started).toHaveLength(1);
    });

    it('an action error arrives as the same PluginError (reason, item, message)', async () => {
        const error = await echo()
            .execute({ item: Buffer.from('refuse'), backup: Buffer.alloc(0) }, { log: quiet })
            .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PluginError);
        expect(error).toMatchObject({ reason: 'Refused', message: 'Pod ns/p: no', item: { kind: 'Pod', namespace: 'ns', name: 'p' } });
    });

    it('a worker that dies fails the calls in flight with an item-level error, and the next call starts a new one', async () => {
        const inFlight = echo()
            .execute({ item: Buffer.from('hang'), backup: Buffer.alloc(0) }, { log: quiet })
            .catch((e: unknown) => e);
        await new Promise((r) => setTimeout(r, 20));
        started[0]?.emit('exit', 134);
        const error = await inFlight;
        expect(error).toBeInstanceOf(PluginError);
        expect((error as PluginError).message).toBe('the action worker stopped while this item was processed (exit code 134); retrying the item may succeed');
        const again = await echo().execute({ item: Buffer.from('c'), backup: Buffer.alloc(0) }, { log: quiet });
        expect(again.item.toString()).toBe('c');
        expect(started).toHaveLength(2);
    });
});

describe('which calls go to the worker', () => {
    it.each([
        ['a request below the threshold runs on this thread and starts no worker', 'a', 0],
        ['a request at the threshold runs on the worker', 'abcd', 1],
        ['a larger request runs on the worker', 'abcdefgh', 1],
    ])('%s', async (_name, item, workers) => {
        const wrapped = offload.wrap(declarations, 5)[0] as BackupItemActionDeclaration;
        const result = await wrapped.execute({ item: Buffer.from(item), backup: Buffer.from('b') }, { log: quiet });
        expect(result.item.toString()).toBe(`${item}b`);
        expect(started).toHaveLength(workers);
    });
});
