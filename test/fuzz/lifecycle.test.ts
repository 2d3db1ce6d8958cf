/**
 * The real binary's life: it ends when its parent (Velero) is SIGKILLed, and Shutdown is answered and
 * the process gone within 1 s even while a 100,000-volume item is being worked on.
 */
import { join } from 'node:path';
import { unaryCall } from '../support/grpc-client';
import { isRunning, startPlugin, type PluginProcess } from '../support/plugin-process';

const BINARY = process.env['KVP_PLUGIN_BINARY'] ?? join(__dirname, '..', '..', 'dist', 'kubevirt-velero-plugin');
const RESTORE_VM = 'kubevirt-velero-plugin/restore-vm-action';

/** A VirtualMachine with n PVC volumes (and n disks): some 10 MB of JSON for n = 100,000. */
export function bigVm(n: number): Buffer {
    const names = Array.from({ length: n }, (_, i) => `disk${i}`);
    return Buffer.from(
        JSON.stringify({
            apiVersion: 'kubevirt.io/v1',
            kind: 'VirtualMachine',
            metadata: { name: 'big', namespace: 'ns1', uid: '5d3c1f5e-0000-4000-8000-000000000001' },
            spec: {
                runStrategy: 'Halted',
                template: {
                    metadata: { labels: { 'kubevirt.io/vm': 'big' } },
                    spec: {
                        domain: { devices: { disks: names.map((name) => ({ name, disk: { bus: 'virtio' } })) } },
                        volumes: names.map((name, i) => ({ name, persistentVolumeClaim: { claimName: `pvc-${i}` } })),
                    },
                },
            },
        }),
    );
}

const RESTORE = Buffer.from(JSON.stringify({ apiVersion: 'velero.io/v1', kind: 'Restore', metadata: { name: 'r1', namespace: 'velero' }, spec: {} }));

let plugin: PluginProcess | undefined;

afterEach(async () => {
    if (plugin && isRunning(plugin.pid)) process.kill(plugin.pid, 'SIGKILL');
    plugin = undefined;
});

describe('the plugin process', () => {
    it('exits soon after its parent (Velero) is SIGKILLed', async () => {
        plugin = await startPlugin(BINARY, {}, ['--log-level=info'], { parent: true });
        await plugin.call('generated.PluginLister', 'ListPlugins', {});
        expect(plugin.pid).toBeGreaterThan(0);
        expect(isRunning(plugin.pid)).toBe(true);
        const killed = Date.now();
        plugin.child.kill('SIGKILL');
        const gone = await plugin.gone(3000);
        const took = Date.now() - killed;
        process.stderr.write(`figures: plugin gone ${took} ms after its parent was SIGKILLed\n`);
        expect(gone).toBe(true);
        expect(took).toBeLessThan(2000);
        expect(plugin.stderr()).toContain('the parent process (Velero) is gone');
    });

    it('keeps serving while its parent lives', async () => {
        plugin = await startPlugin(BINARY, {}, ['--log-level=info'], { parent: true });
        await new Promise((r) => setTimeout(r, 1500));
        const listed = await plugin.call('generated.PluginLister', 'ListPlugins', {});
        expect((listed['plugins'] as unknown[]).length).toBeGreaterThanOrEqual(12);
        expect(isRunning(plugin.pid)).toBe(true);
    });

    it('answers Shutdown and is gone within 1 s while a 100,000-volume VM is in flight', async () => {
        // At debug: the adapter's start-of-call line tells when the action has the item.
        plugin = await startPlugin(BINARY, {}, ['--log-level=debug']);
        const item = bigVm(100_000);
        // Warm the action worker with a small item so the big one starts at once.
        await plugin.call('v2.RestoreItemAction', 'Execute', { plugin: RESTORE_VM, item: bigVm(1), restore: RESTORE, itemFromBackup: bigVm(1) });
        const inFlight = plugin.call('v2.RestoreItemAction', 'Execute', { plugin: RESTORE_VM, item, restore: RESTORE, itemFromBackup: item }).then(
            () => 'answered',
            () => 'failed',
        );
        // Wait until the action has started on the item (its first log line), then ask.
        const deadline = Date.now() + 60_000;
        const started = (): number => plugin!.stderr().split('"@message":"Executing restore-vm-action on ').length - 1;
        while (started() < 2 && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 5));
        }
        expect(started()).toBe(2); // the warm-up item and the big one
        const asked = Date.now();
        await unaryCall(plugin.socket, 'plugin.GRPCController', 'Shutdown', {});
        const answered = Date.now() - asked;
        const gone = await plugin.gone(5000);
        const goneAfter = Date.now() - asked;
        process.stderr.write(`figures: Shutdown answered after ${answered} ms, process gone after ${goneAfter} ms (100,000-volume VM in flight: ${item.length} bytes)\n`);
        expect(answered).toBeLessThan(1000);
        expect(gone).toBe(true);
        expect(goneAfter).toBeLessThan(1000);
        expect(await inFlight).toBe('failed');
        expect(plugin.stdoutAfterHandshake()).toBe('');
    });
});
