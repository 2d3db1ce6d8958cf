/**
 * Counts the HTTP requests the cluster reader makes, so that tests and benchmarks can check the cost of
 * a run (LISTs per namespace and resource, requests per VM, bytes transferred). Every attempt counts,
 * retries included; a request that never reached the network (no configuration) does not.
 */

/**
 * "discover": a discovery request (/apis, /apis/<group>/<version>) made to tell "not installed" from a wrong URL.
 * "list-page": a continued page of a LIST (its `continue` token): one logical LIST is one "list" request
 * plus its "list-page" requests.
 */
export type Verb = 'get' | 'list' | 'list-page' | 'discover';

export interface RequestStat {
    verb: Verb;
    /** Group-qualified resource, as Velero prints it: "pods", "datavolumes.cdi.kubevirt.io". */
    resource: string;
    /** "" for cluster-scoped resources and for lists across all namespaces. */
    namespace: string;
    count: number;
    /** Bytes read from the network (response bodies as transferred, i.e. compressed when gzip was used). */
    bytes: number;
    /** Attempts by outcome: HTTP status ("200", "404", "503") or transport error ("ECONNREFUSED", "deadline"). */
    statuses: Record<string, number>;
}

export interface RequestStats {
    byKey: RequestStat[];
    total: { count: number; bytes: number };
}

export class RequestCounter {
    private readonly entries = new Map<string, RequestStat>();

    record(verb: Verb, resource: string, namespace: string, outcome: number | string, bytes: number): void {
        const key = `${verb} ${resource} ${namespace}`;
        let entry = this.entries.get(key);
        if (!entry) {
            entry = { verb, resource, namespace, count: 0, bytes: 0, statuses: {} };
            this.entries.set(key, entry);
        }
        entry.count += 1;
        entry.bytes += bytes;
        const status = String(outcome);
        entry.statuses[status] = (entry.statuses[status] ?? 0) + 1;
    }

    /** A copy of the counters, ordered by verb, resource and namespace. */
    snapshot(): RequestStats {
        const byKey = [...this.entries.values()]
            .map((e) => ({ ...e, statuses: { ...e.statuses } }))
            .sort((a, b) => compare(a.verb, b.verb) || compare(a.resource, b.resource) || compare(a.namespace, b.namespace));
        const total = { count: 0, bytes: 0 };
        for (const e of byKey) {
            total.count += e.count;
            total.bytes += e.bytes;
        }
        return { byKey, total };
    }

    reset(): void {
        this.entries.clear();
    }
}

function compare(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}

/** The counter the process-wide reader (src/cluster/lazy.ts) records into. */
export const processRequestCounter = new RequestCounter();

export function requestStats(): RequestStats {
    return processRequestCounter.snapshot();
}

export function resetRequestStats(): void {
    processRequestCounter.reset();
}

/** A plain-text table for benchmark output: one line per (verb, resource, namespace) and a total. */
export function formatRequestStats(stats: RequestStats): string {
    const rows = stats.byKey.map((e) => [
        e.verb.toUpperCase(),
        e.resource,
        e.namespace === '' ? '*' : e.namespace,
        String(e.count),
        String(e.bytes),
        Object.entries(e.statuses)
            .sort(([a], [b]) => compare(a, b))
            .map(([s, n]) => `${s}x${n}`)
            .join(' '),
    ]);
    const header = ['VERB', 'RESOURCE', 'NAMESPACE', 'REQUESTS', 'BYTES', 'STATUSES'];
    const footer = ['TOTAL', '', '', String(stats.total.count), String(stats.total.bytes), ''];
    const table = [header, ...rows, footer];
    const widths = header.map((_h, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
    return table
        .map((r) =>
            r
                .map((c, i) => c.padEnd(widths[i] ?? 0))
                .join('  ')
                .trimEnd(),
        )
        .join('\n');
}
