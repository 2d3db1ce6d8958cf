import { PluginError } from '../../../src/errors';
import type { RestoreActionSpec } from '../../../src/kube/action';
import type { KubeObject } from '../../../src/kube/object';
import { Logger } from '../../../src/logging/logger';
import { restoreDeclaration } from '../../../src/plugin/adapter';

const log = new Logger('error', () => undefined);
const noCluster = (): never => {
    throw new Error('no cluster in this test');
};
const ITEM = Buffer.from('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"ns"}}');
const FROM_BACKUP = Buffer.from('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"ns","uid":"u-1"}}');

/** A restore action that reads itemFromBackup only when told to, and reports what it saw. */
function action(read: boolean, seen: { fromBackup?: KubeObject }): RestoreActionSpec {
    return {
        name: 'test.io/restore',
        appliesTo: { includedResources: ['configmaps'] },
        async execute(input) {
            if (read) seen.fromBackup = input.itemFromBackup;
            return { additionalItems: [], skipRestore: false };
        },
    };
}

describe('the restore adapter decodes itemFromBackup only for an action that reads it', () => {
    const cases: { name: string; read: boolean; fromBackup: Buffer; want: string | RegExp | undefined }[] = [
        { name: 'an action that reads it gets the decoded object', read: true, fromBackup: FROM_BACKUP, want: 'u-1' },
        { name: 'empty bytes read as the item itself', read: true, fromBackup: Buffer.alloc(0), want: undefined },
        { name: 'malformed bytes fail the call that reads them, naming itemFromBackup', read: true, fromBackup: Buffer.from('{oops'), want: /itemFromBackup is not valid JSON/ },
        { name: 'malformed bytes are not even looked at by an action that does not read them', read: false, fromBackup: Buffer.from('{oops'), want: undefined },
    ];
    it.each(cases)('$name', async ({ read, fromBackup, want }) => {
        const seen: { fromBackup?: KubeObject } = {};
        const call = restoreDeclaration(action(read, seen), noCluster).execute({ item: ITEM, restore: Buffer.from('{}'), itemFromBackup: fromBackup }, { log });
        if (want instanceof RegExp) {
            await expect(call).rejects.toThrow(PluginError);
            await expect(call).rejects.toThrow(want);
            return;
        }
        const out = await call;
        expect(out.item).toBe(ITEM);
        if (read) expect(seen.fromBackup?.metadata?.['uid']).toBe(want);
        else expect(seen.fromBackup).toBeUndefined();
    });
});
