/**
 * Access reviews for the preflight: "may this identity do <verb> on <resource> in <namespace>?"
 * (SelfSubjectAccessReview, authorization.k8s.io/v1) and "who am I?" (SelfSubjectReview,
 * authentication.k8s.io/v1). Both are creates on the authorization/authentication APIs: the API server
 * answers in the response and stores nothing, so they change no cluster state. They use the same
 * configuration and credentials as the cluster reader.
 */
import http from 'node:http';
import https from 'node:https';
import { PluginError } from '../errors';
import { isRecord } from '../kube/object';
import type { ConfigLoader } from './config';
import { endpointFromKubeConfig, NO_CLUSTER_MESSAGE } from './config';
import type { Endpoint } from './transport';

export interface AccessQuestion {
    verb: string;
    group: string;
    resource: string;
    /** "" for cluster-wide. */
    namespace: string;
}

export interface AccessAnswer extends AccessQuestion {
    allowed: boolean;
    reason: string;
}

const TIMEOUT_MS = 10_000;

async function post(endpoint: Endpoint, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
    const options = await endpoint.requestOptions();
    const url = new URL(endpoint.server + path);
    const request = url.protocol === 'http:' ? http.request : https.request;
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
        const req = request(
            url,
            {
                ...options,
                method: 'POST',
                timeout: TIMEOUT_MS,
                headers: {
                    ...options.headers,
                    Accept: 'application/json',
                    'Content-Type': 'application/json',
                    'Content-Length': payload.length,
                    'User-Agent': 'kubevirt-velero-plugin',
                },
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on('data', (c: Buffer) => chunks.push(c));
                res.on('end', () => {
                    let json: unknown;
                    try {
                        json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
                    } catch {
                        json = undefined;
                    }
                    resolve({ status: res.statusCode ?? 0, json });
                });
                res.on('error', reject);
            },
        );
        req.on('timeout', () => req.destroy(new Error(`no response within ${TIMEOUT_MS} ms`)));
        req.on('error', reject);
        req.end(payload);
    });
}

export class AccessReviewer {
    private endpointPromise: Promise<Endpoint> | undefined;

    constructor(private readonly loadConfig: ConfigLoader) {}

    private endpoint(): Promise<Endpoint> {
        this.endpointPromise ??= this.loadConfig().then((loaded) => {
            if (loaded === undefined) throw new PluginError('NoCluster', NO_CLUSTER_MESSAGE);
            return endpointFromKubeConfig(loaded, 8);
        });
        return this.endpointPromise;
    }

    /** One SelfSubjectAccessReview per question. A review the API server refuses throws Forbidden. */
    async review(questions: readonly AccessQuestion[]): Promise<AccessAnswer[]> {
        const endpoint = await this.endpoint();
        return Promise.all(
            questions.map(async (q) => {
                const resourceAttributes: Record<string, string> = { verb: q.verb, group: q.group, resource: q.resource };
                if (q.namespace !== '') resourceAttributes['namespace'] = q.namespace;
                let answer;
                try {
                    answer = await post(endpoint, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
                        apiVersion: 'authorization.k8s.io/v1',
                        kind: 'SelfSubjectAccessReview',
                        spec: { resourceAttributes },
                    });
                } catch (error) {
                    throw new PluginError('Cluster', `cannot create a SelfSubjectAccessReview: ${(error as Error).message}`);
                }
                if (answer.status === 401 || answer.status === 403) {
                    throw new PluginError('Forbidden', `cannot create selfsubjectaccessreviews.authorization.k8s.io (HTTP ${answer.status})`);
                }
                const status = isRecord(answer.json) && isRecord(answer.json['status']) ? answer.json['status'] : undefined;
                if (answer.status < 200 || answer.status > 299 || !status) {
                    throw new PluginError('Cluster', `SelfSubjectAccessReview answered HTTP ${answer.status}`);
                }
                const reason = typeof status['reason'] === 'string' ? status['reason'] : '';
                return { ...q, allowed: status['allowed'] === true, reason };
            }),
        );
    }

    /** The user name the API server sees, or undefined when it cannot say (SelfSubjectReview needs Kubernetes 1.28). */
    async whoAmI(): Promise<string | undefined> {
        try {
            const endpoint = await this.endpoint();
            const answer = await post(endpoint, '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
                apiVersion: 'authentication.k8s.io/v1',
                kind: 'SelfSubjectReview',
            });
            const name = isRecord(answer.json) ? (answer.json as { status?: { userInfo?: { username?: unknown } } }).status?.userInfo?.username : undefined;
            return typeof name === 'string' ? name : undefined;
        } catch {
            return undefined;
        }
    }

    close(): void {
        this.endpointPromise?.then((e) => e.close()).catch(() => undefined);
    }
}
