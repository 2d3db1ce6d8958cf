/**
 * Builds a KubeCluster against a fake API server the way the plugin builds it: KUBECONFIG points at a
 * kubeconfig file and the default loader (src/cluster/kubeconfig.ts) reads it. Waits are recorded,
 * not slept; jitter is pinned to the top of its range so backoff delays are exact.
 */
import { KubeCluster, type KubeClusterOptions } from '../../../src/cluster/kube';
import { RequestCounter } from '../../../src/cluster/stats';
import { Logger } from '../../../src/logging/logger';
import { writeKubeconfig } from './fake-apiserver';

export interface Harness {
    reader: KubeCluster;
    counter: RequestCounter;
    /** Every wait the reader asked for, in order. */
    sleeps: number[];
    /** Log lines, parsed. */
    logs: Record<string, unknown>[];
    /** Log lines as written. */
    rawLogs: string[];
}

const opened: KubeCluster[] = [];

export function harness(server: string, options: Partial<KubeClusterOptions> = {}, kubeconfig: { token?: string; caFile?: string; insecure?: boolean } = {}): Harness {
    process.env['KUBECONFIG'] = writeKubeconfig(server, kubeconfig);
    const counter = new RequestCounter();
    const sleeps: number[] = [];
    const rawLogs: string[] = [];
    const reader = new KubeCluster({
        log: new Logger('debug', (line) => rawLogs.push(line)),
        counter,
        sleep: async (ms) => {
            sleeps.push(ms);
        },
        random: () => 1,
        ...options,
    });
    opened.push(reader);
    return {
        reader,
        counter,
        sleeps,
        rawLogs,
        get logs(): Record<string, unknown>[] {
            return rawLogs.map((l) => JSON.parse(l) as Record<string, unknown>);
        },
    };
}

/** Closes the keep-alive connections of every reader built so far. */
export function closeReaders(): void {
    for (const reader of opened.splice(0)) reader.close();
}

/** Runs a promise and returns what it rejected with (fails the test if it resolved). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
    try {
        await promise;
    } catch (error) {
        return error;
    }
    throw new Error('expected a rejection, got a value');
}
