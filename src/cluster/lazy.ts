/**
 * The process-wide cluster reader, created on first use so that start-up never touches the Kubernetes
 * client (Velero starts a fresh plugin process for every backup and restore).
 */
import { PluginError } from '../errors';
import type { Logger } from '../logging/logger';
import type { ClusterReader } from './reader';

export function lazyCluster(log: Logger): () => ClusterReader {
    let instance: ClusterReader | undefined;
    return () => {
        instance ??= unavailable(log);
        return instance;
    };
}

function unavailable(_log: Logger): ClusterReader {
    const fail = (): never => {
        throw new PluginError('NoCluster', 'cluster access is not implemented yet');
    };
    return { get: async () => fail(), list: async () => fail() };
}
