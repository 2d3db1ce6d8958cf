/**
 * The rules every reference must follow before it reaches Velero or a request path (src/kube/refcheck.ts,
 * docs/decisions/007-trust-model.md), with the names an attacker would write into a VM.
 */
import { apiPath } from '../../../src/cluster/kube';
import { PluginError } from '../../../src/errors';
import { ALLOWED_RESOURCES, checkRefs, describeRef, nameProblem, namespaceProblem, refProblem, requestProblem } from '../../../src/kube/refcheck';
import { R, groupResourceString, type ObjectRef } from '../../../src/kube/resources';

const NS = 'tenant';
const secret = (name: string, namespace = NS): ObjectRef => ({ group: '', resource: 'secrets', namespace, name });

describe('object names', () => {
    it.each([
        ['a plain name', 'db-creds'],
        ['a dotted name', 'br.1'],
        ['a ControllerRevision name as KubeVirt generates it', 'test-vm-it-test-vm-instancetype-v1beta1-1'],
        ['a generated backend PVC name', 'persistent-state-for-vm-x9k2m'],
        ['a single character', 'a'],
        ['digits only', '0123'],
        ['253 characters', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`],
    ])('%s is accepted', (_what, name) => {
        expect(name.length).toBeLessThanOrEqual(253);
        expect(nameProblem(name)).toBeUndefined();
    });

    it.each([
        ['a path into another namespace', '../victim/db-creds', "contains '/'"],
        ['a slash', 'a/b', "contains '/'"],
        ['a multus-style path', 'ns/../x', "contains '/'"],
        ['dot-dot', '..', 'is ".."'],
        ['dot', '.', 'is "."'],
        ['a leading dot-dot segment', '..x', 'DNS-1123'],
        ['an empty segment', 'a..b', 'DNS-1123'],
        ['254 characters', 'a'.repeat(254), 'longer than 253'],
        ['upper case', 'DB-Creds', 'DNS-1123'],
        ['empty', '', 'empty'],
        ['a leading hyphen', '-x', 'DNS-1123'],
        ['a trailing dot', 'x.', 'DNS-1123'],
        ['a percent escape', '%2e%2e', 'DNS-1123'],
        ['a backslash', '..\\victim', 'DNS-1123'],
        ['a space', 'a b', 'DNS-1123'],
        ['a newline (log injection)', 'x\nlevel=error', 'DNS-1123'],
        ['a NUL byte', 'x\u0000', 'DNS-1123'],
        ['a non-ASCII letter', 'ｄb', 'DNS-1123'],
    ])('%s is refused', (_what, name, problem) => {
        expect(nameProblem(name)).toContain(problem);
    });
});

describe('namespace names', () => {
    it.each([['tenant'], ['kvp-ns'], ['a'.repeat(63)]])('%s is a namespace', (ns) => {
        expect(namespaceProblem(ns)).toBeUndefined();
    });
    it.each([[''], ['..'], ['a.b'], ['Tenant'], ['a/b'], ['a'.repeat(64)]])('%j is not a namespace', (ns) => {
        expect(namespaceProblem(ns)).toBeDefined();
    });
});

describe('a reference returned for an item', () => {
    it('may name every resource of the graph, and only those (the allow-list is R)', () => {
        expect([...ALLOWED_RESOURCES.keys()].sort()).toEqual(Object.values(R).map(groupResourceString).sort());
    });

    it.each([
        ['a secret of the item namespace', secret('db-creds')],
        ['a PVC', { group: '', resource: 'persistentvolumeclaims', namespace: NS, name: 'root' }],
        ['a DataVolume', { group: 'cdi.kubevirt.io', resource: 'datavolumes', namespace: NS, name: 'root' }],
        ['a ControllerRevision', { group: 'apps', resource: 'controllerrevisions', namespace: NS, name: 'vm-it-small-1' }],
        ['a NAD', { group: 'k8s.cni.cncf.io', resource: 'network-attachment-definitions', namespace: NS, name: 'br.1' }],
        ['a cluster-scoped preference with namespace ""', { group: 'instancetype.kubevirt.io', resource: 'virtualmachineclusterpreferences', namespace: '', name: 'fedora' }],
    ])('%s passes', (_what, ref) => {
        expect(refProblem(ref, NS)).toBeUndefined();
    });

    it.each([
        ['a name climbing into another namespace', secret('../victim/db-creds'), "contains '/'"],
        ['a name with a slash', secret('a/b'), "contains '/'"],
        ['dot-dot (GET pvc would become GET namespace)', { group: '', resource: 'persistentvolumeclaims', namespace: NS, name: '..' }, 'is ".."'],
        ['dot', secret('.'), 'is "."'],
        ['254 characters', secret('x'.repeat(254)), 'longer than 253'],
        ['upper case', secret('DB'), 'DNS-1123'],
        ['an empty name', secret(''), 'empty'],
        ['another namespace', secret('db-creds', 'victim'), 'not the item\'s own namespace "tenant"'],
        ['no namespace for a namespaced resource', secret('db-creds', ''), "not the item's own namespace"],
        ['a multus name with a path', { group: 'k8s.cni.cncf.io', resource: 'network-attachment-definitions', namespace: NS, name: 'ns/../x' }, "contains '/'"],
        ['rolebindings', { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: NS, name: 'admin' }, 'is not one the plugin ever refers to'],
        ['persistentvolumes', { group: '', resource: 'persistentvolumes', namespace: '', name: 'pv-1' }, 'is not one the plugin ever refers to'],
        ['secrets of the wrong group', { group: 'apps', resource: 'secrets', namespace: NS, name: 'x' }, 'is not one the plugin ever refers to'],
        ['a resource with a path in it', { group: '', resource: '../secrets', namespace: NS, name: 'x' }, 'is not one the plugin ever refers to'],
        [
            'a cluster-scoped resource with a namespace',
            { group: 'instancetype.kubevirt.io', resource: 'virtualmachineclusterinstancetypes', namespace: NS, name: 'u1' },
            'cluster-scoped',
        ],
    ])('%s is refused', (_what, ref, problem) => {
        expect(refProblem(ref, NS)).toContain(problem);
    });

    it('an item whose own namespace is not a namespace name gets no reference through', () => {
        expect(refProblem(secret('x', '..'), '..')).toContain('DNS-1123 label');
    });

    it('checkRefs keeps the order of the accepted refs and says why each other one was refused', () => {
        const refs = [secret('a'), secret('../victim/db-creds'), secret('b'), secret('c', 'victim')];
        const { accepted, rejected } = checkRefs(refs, NS);
        expect(accepted.map((r) => r.name)).toEqual(['a', 'b']);
        expect(rejected.map((r) => [r.ref.name, r.problem])).toEqual([
            ['../victim/db-creds', "the name contains '/'"],
            ['c', 'namespace "victim" is not the item\'s own namespace "tenant"'],
        ]);
    });

    it('is described with its field, quoted so that a hostile name cannot forge a log line', () => {
        const ref = { ...secret('x\n"level":"error"'), field: 'spec.volumes[0].secret.secretName' };
        expect(describeRef(ref)).toBe('secrets "x\\n\\"level\\":\\"error\\"" in namespace "tenant" (from spec.volumes[0].secret.secretName)');
        expect(describeRef(secret('y'.repeat(300)))).toContain('…(300 characters)');
    });
});

describe('request paths', () => {
    it.each([
        ['GET of a pod', R.pods, 'ns1', 'virt-launcher-a', '/api/v1/namespaces/ns1/pods/virt-launcher-a'],
        ['LIST', R.pvcs, 'ns1', undefined, '/api/v1/namespaces/ns1/persistentvolumeclaims'],
        ['LIST in all namespaces', R.pvcs, '', undefined, '/api/v1/persistentvolumeclaims'],
        ['GET of a cluster-scoped object', R.clusterPreferences, '', 'fedora', '/apis/instancetype.kubevirt.io/v1beta1/virtualmachineclusterpreferences/fedora'],
    ])('%s is built', (_what, resource, namespace, name, path) => {
        expect(requestProblem(resource, namespace, name)).toBeUndefined();
        expect(apiPath(resource, namespace, name)).toBe(path);
    });

    it.each([
        ['a PVC named ".." (would GET the Namespace)', R.pvcs, 'ns1', '..'],
        ['a PVC named "."', R.pvcs, 'ns1', '.'],
        ['a secret named "../victim/db-creds"', R.secrets, 'ns1', '../victim/db-creds'],
        ['a name with a slash', R.dataVolumes, 'ns1', 'a/b'],
        ['an upper-case name', R.pvcs, 'ns1', 'ROOT'],
        ['a 254-character name', R.pvcs, 'ns1', 'a'.repeat(254)],
        ['a namespace ".."', R.pvcs, '..', 'root'],
        ['a namespace with a slash (LIST)', R.pods, 'a/b', undefined],
    ])('%s is refused before any request', (_what, resource, namespace, name) => {
        expect(requestProblem(resource, namespace, name)).toBeDefined();
        expect(() => apiPath(resource, namespace, name)).toThrow(PluginError);
        expect(() => apiPath(resource, namespace, name)).toThrow(/refusing to request/);
    });
});
