/**
 * The process-wide cluster reader, created on first use so that start-up never touches the Kubernetes
 * client (Velero starts a fresh plugin process for every backup and restore). Creating the reader is
 * cheap too: the configuration is found and parsed by the reader's first request, not here.
 */
import type { Logger } from '../logging/logger';
import { defaultConfigLoader, SERVICE_ACCOUNT_DIR, type ExplicitConfig } from './config';
import { KubeCluster } from './kube';
import type { ClusterReader } from './reader';

let processReader: KubeCluster | undefined;

/** A provider of the one reader of this process; every provider returns the same reader. */
export function lazyCluster(log: Logger, explicit: ExplicitConfig = {}): () => ClusterReader {
    return () => {
        processReader ??= new KubeCluster({ log, loadConfig: defaultConfigLoader(SERVICE_ACCOUNT_DIR, explicit) });
        return processReader;
    };
}
