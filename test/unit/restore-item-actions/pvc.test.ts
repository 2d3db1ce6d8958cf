import { pathGet } from '../../../src/kube/object';
import { pvcRestoreAction } from '../../../src/restore-item-actions/pvc';
import { fixture, restoreWith, run } from './helpers';

describe('PVC restore action registration', () => {
    it('keeps the Go plugin name and applies to PVCs', () => {
        expect(pvcRestoreAction.name).toBe('kubevirt-velero-plugin/restore-pvc-action');
        expect(pvcRestoreAction.appliesTo).toEqual({ includedResources: ['persistentvolumeclaims'] });
    });
});

describe('PVC restore action (upstream TestPvcRestoreExecute)', () => {
    it('Skip the unfinished PVC', async () => {
        const { output, messages } = await run(pvcRestoreAction, fixture('pvcs.yaml', 'unfinished'));
        expect(output).toEqual({ additionalItems: [], skipRestore: true });
        expect(messages).toEqual([]);
    });

    it.each([
        ['Remove resource UID label from PVC, keep populatedFor', 'labelled', { app: 'db' }, { 'cdi.kubevirt.io/storage.populatedFor': 'labelled' }],
        [
            'Restore original UID label value from collision annotation',
            'collision',
            { 'velero.kubevirt.io/pvc-uid': 'user-value' },
            { 'cdi.kubevirt.io/storage.populatedFor': 'collision' },
        ],
        ['Remove the last label (labels map goes away)', 'only-uid-label', undefined, undefined],
    ])('%s', async (_name, pvcName, labels, annotations) => {
        const { output } = await run(pvcRestoreAction, fixture('pvcs.yaml', pvcName), restoreWith({ namespaceMapping: { src: 'dst' } }));
        expect(output.skipRestore).toBe(false);
        expect(output.additionalItems).toEqual([]);
        expect(pathGet(output.item, ['metadata', 'labels'])).toEqual(labels);
        expect(pathGet(output.item, ['metadata', 'annotations'])).toEqual(annotations);
        expect(pathGet(output.item, ['spec'])).toEqual({ storageClassName: 'fast' });
    });

    it.each([
        ['Handle PVC without resource UID label', 'no-uid-label'],
        ['Handle PVC without any labels', 'no-labels'],
    ])('%s: unchanged, returned as no item', async (_name, pvcName) => {
        const { output } = await run(pvcRestoreAction, fixture('pvcs.yaml', pvcName));
        expect(output).toEqual({ additionalItems: [], skipRestore: false });
    });
});
