/**
 * Paged LISTs against the real kube-apiserver and etcd (decision 020): the cluster reader reads a LIST in
 * pages (limit/continue); when the snapshot a continue token names is compacted away between two pages,
 * the API server answers 410 Expired, and the reader lists again in one unpaged request, as client-go's
 * pager does. The reader runs in this process and reaches the apiserver through test/lab/fault-proxy.ts,
 * whose hook writes an object and compacts etcd when the second page is asked for, holding that request
 * until both are done.
 *
 * The resource read is Events: since Kubernetes 1.34 (ListFromCacheSnapshot, on by default) the API
 * server answers the continued pages of a watch-cached resource from the watch cache's snapshot, which
 * an etcd compaction does not expire (tried here first: PVCs answered 200 for the page asked for after
 * the compaction). Events are the one resource without a watch cache by default, so their continued
 * pages are read from etcd, and expire as every resource's did before 1.34.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfigLoader } from '../../src/cluster/config';
import { KubeCluster } from '../../src/cluster/kube';
import { RequestCounter } from '../../src/cluster/stats';
import type { KubeObject } from '../../src/kube/object';
import type { GroupResource } from '../../src/kube/resources';
import { Logger } from '../../src/logging/logger';
import { FaultProxy } from './fault-proxy';
import { connectLab, type Lab } from './lab';

const NS = 'paging-410';
const EVENTS = 7;
/** Not a resource the plugin reads: the one whose continued pages still come from etcd (see above). */
const EVENTS_RESOURCE: GroupResource = { group: '', version: 'v1', resource: 'events', namespaced: true };

let lab: Lab;
let proxy: FaultProxy | undefined;

/** The client URL of the lab's etcd, from its command line (its data directory is in the lab's). */
function etcdUrl(): string {
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        let args: string[];
        try {
            args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        } catch {
            continue;
        }
        if (!args.includes(`--data-dir=${join(lab.workDir, 'etcd')}`)) continue;
        const listen = args.find((a) => a.startsWith('--listen-client-urls='));
        if (listen) return listen.slice('--listen-client-urls='.length).split(',')[0] ?? '';
    }
    throw new Error('the lab etcd process was not found');
}

/** Compacts etcd up to its current revision, through its JSON gateway. */
async function compactEtcd(): Promise<void> {
    const url = etcdUrl();
    const range = (await (await fetch(`${url}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) })).json()) as {
        header: { revision: string };
    };
    const answer = await fetch(`${url}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: range.header.revision, physical: true }) });
    if (!answer.ok) throw new Error(`etcd compaction: HTTP ${answer.status}`);
}

function event(name: string): KubeObject {
    return {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: NS },
        involvedObject: { kind: 'Pod', name: 'somewhere', namespace: NS },
        reason: 'Test',
        message: 'paging test',
        type: 'Normal',
    };
}

beforeAll(async () => {
    lab = connectLab();
    await lab.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }, ...Array.from({ length: EVENTS }, (_, i) => event(`event-${i}`))]);
});

afterAll(async () => {
    await proxy?.close();
    await lab.kubectl(['delete', 'namespace', '--wait=false', NS]).catch(() => undefined);
});

it('a LIST whose continue token expires between pages (410) is read again in one request, whole, as client-go does', async () => {
    const certs = join(lab.workDir, 'certs');
    const p = await FaultProxy.start({
        upstream: lab.apiServer,
        upstreamCa: join(certs, 'apiserver.crt'),
        clientCert: join(lab.workDir, 'pki', 'admin.crt'),
        clientKey: join(lab.workDir, 'pki', 'admin.key'),
        servingCert: join(certs, 'apiserver.crt'),
        servingKey: join(certs, 'apiserver.key'),
        latencyMs: 0,
    });
    proxy = p;
    const kubeconfig = join(lab.workDir, 'paging.kubeconfig');
    writeFileSync(
        kubeconfig,
        [
            'apiVersion: v1',
            'kind: Config',
            'clusters:',
            '- name: proxied',
            '  cluster:',
            `    server: ${p.url}`,
            `    certificate-authority: ${join(certs, 'apiserver.crt')}`,
            'contexts:',
            '- name: proxied',
            '  context: {cluster: proxied, user: nobody}',
            'current-context: proxied',
            'users:',
            '- name: nobody',
            '  user: {}',
            '',
        ].join('\n'),
    );
    // When the second page is asked for: a write (so that etcd's revision moves past the token's), then a
    // compaction; the request is forwarded after both.
    let compacted: Promise<void> | undefined;
    p.onRequest = (path) => {
        if (!path.includes(`/namespaces/${NS}/events`) || !path.includes('continue=') || compacted) return undefined;
        compacted = lab.apply([event('written-between-pages')]).then(compactEtcd);
        return compacted;
    };

    const lines: string[] = [];
    const counter = new RequestCounter();
    const reader = new KubeCluster({
        log: new Logger('debug', (line) => lines.push(line)),
        counter,
        pageSize: 3,
        loadConfig: defaultConfigLoader(join(lab.workDir, 'no-service-account'), { kubeconfig }),
    });
    try {
        const items = await reader.list(EVENTS_RESOURCE, NS);
        await compacted;
        const paths = p.requests.filter((r) => r.path.includes(`/namespaces/${NS}/events`)).map((r) => [r.path.replace(/continue=[^&]+/, 'continue=…'), r.outcome]);
        expect(paths).toEqual([
            [`/api/v1/namespaces/${NS}/events?limit=3`, 200],
            [`/api/v1/namespaces/${NS}/events?limit=3&continue=…`, 410],
            [`/api/v1/namespaces/${NS}/events`, 200],
        ]);
        const names = items.map((i) => i.metadata?.name ?? '').sort();
        // The full list after the 410 is a new snapshot: it has the claim written between the pages, once each.
        expect(names).toEqual([...Array.from({ length: EVENTS }, (_, i) => `event-${i}`), 'written-between-pages'].sort());
        expect(lines.filter((l) => l.includes('the continue token of a LIST expired'))).toHaveLength(1);
        expect(counter.snapshot().byKey.map((e) => [e.verb, e.statuses])).toEqual([
            ['list', { '200': 2 }],
            ['list-page', { '410': 1 }],
        ]);
    } finally {
        reader.close();
    }
});
