/**
 * `kubevirt-velero-plugin preflight …`: parses the arguments, reads the cluster (and the tarball), runs
 * the verdicts, prints the report and returns the exit code (0 all well, 1 something refused or broken,
 * 2 usage error). Never writes to the cluster: the reader only GETs and LISTs, and the permission check
 * creates SelfSubjectAccessReviews, which the API server answers without storing anything.
 */
import { AccessReviewer, type AccessQuestion } from '../cluster/access';
import { defaultConfigLoader, SERVICE_ACCOUNT_DIR } from '../cluster/config';
import { KubeCluster } from '../cluster/kube';
import type { ClusterReader } from '../cluster/reader';
import { formatRequestStats, RequestCounter } from '../cluster/stats';
import { parsePreflightArgs, UsageError, type CommonOptions, type PreflightCommand } from '../cli/preflight';
import { errorMessage, PluginError } from '../errors';
import { Logger, parseLevel } from '../logging/logger';
import { veleroNamespace } from '../plugin/options';
import { preflightBackup } from './backup';
import { backupQuestions, missingPermissions, restoreQuestions } from './permissions';
import { renderBackup, renderRestore, summarizeBackup, summarizeRestore } from './render';
import { SCHEMA_VERSION, type BackupReport, type RestoreReport } from './report';
import { preflightRestore } from './restore';
import { readBackupTarball, TarballError } from './tarball';

export interface PreflightIo {
    stdout(text: string): void;
    stderr(text: string): void;
    env: NodeJS.ProcessEnv;
    /** Tests and benchmarks inject a reader and a reviewer; otherwise the kubeconfig decides. */
    cluster?: ClusterReader;
    reviewer?: Pick<AccessReviewer, 'review' | 'whoAmI' | 'close'>;
    counter?: RequestCounter;
}

type Permissions = BackupReport['permissions'];

async function permissions(options: CommonOptions, reviewer: PreflightIo['reviewer'], questions: AccessQuestion[]): Promise<Permissions> {
    if (!options.checkPermissions || !reviewer) return { checked: false, identity: 'this identity', missing: [], note: 'disabled with --check-permissions=false' };
    const identity = (await reviewer.whoAmI()) ?? 'this identity';
    try {
        const answers = await reviewer.review(questions);
        return {
            checked: true,
            identity,
            missing: missingPermissions(answers),
            note: "checked for the identity running the preflight: run it in the Velero pod (kubectl exec) to check Velero's service account",
        };
    } catch (error) {
        return { checked: false, identity, missing: [], note: errorMessage(error) };
    }
}

// eslint-disable-next-line complexity -- the command's whole flow in order (arguments, access, run, render, exit code); each branch is one outcome the CLI tests name
export async function runPreflight(argv: readonly string[], io: PreflightIo): Promise<number> {
    let command: PreflightCommand;
    try {
        command = parsePreflightArgs(argv);
    } catch (error) {
        if (error instanceof UsageError) {
            io.stderr(`preflight: ${error.message}\nRun "kubevirt-velero-plugin preflight --help" for usage.\n`);
            return 2;
        }
        throw error;
    }
    if (command.command === 'help') {
        io.stdout(command.text);
        return 0;
    }
    const log = new Logger(parseLevel(command.logLevel) ?? 'error', (line) => io.stderr(line), {}, 'kubevirt-velero-plugin-preflight');
    const counter = io.counter ?? new RequestCounter();
    const explicit = { kubeconfig: command.kubeconfig, context: command.kubecontext };
    const kube = io.cluster ? undefined : new KubeCluster({ log, counter, loadConfig: defaultConfigLoader(SERVICE_ACCOUNT_DIR, explicit) });
    const cluster: ClusterReader = io.cluster ?? (kube as KubeCluster);
    const reviewer = io.reviewer ?? new AccessReviewer(defaultConfigLoader(SERVICE_ACCOUNT_DIR, explicit));
    const started = Date.now();
    try {
        let text: string;
        let json: BackupReport | RestoreReport;
        if (command.command === 'backup') {
            const result = await preflightBackup(command.backup, cluster);
            const perms = await permissions(command, reviewer, backupQuestions(result.namespaces));
            const summary = summarizeBackup(result.subjects, result.findings, perms.missing, result.namespaces.length);
            json = {
                schema: SCHEMA_VERSION,
                kind: 'BackupPreflight',
                backup: { labels: command.backup.metadata?.labels ?? {}, spec: command.backup.spec ?? {} },
                namespaces: result.namespaces,
                subjects: result.subjects,
                permissions: perms,
                findings: result.findings,
                summary,
            };
            text = renderBackup(json, command.details);
        } else {
            let contents;
            try {
                contents = readBackupTarball(command.backupFile);
            } catch (error) {
                if (error instanceof TarballError) {
                    io.stderr(`preflight: ${error.message}\n`);
                    return 2;
                }
                throw error;
            }
            const result = await preflightRestore(command.restore, contents, cluster, io.env);
            const targets = [...new Set(result.subjects.map((s) => s.targetNamespace))].sort();
            const perms = await permissions(command, reviewer, restoreQuestions(targets, veleroNamespace(io.env)));
            const summary = summarizeRestore(result.subjects, result.findings, perms.missing);
            json = {
                schema: SCHEMA_VERSION,
                kind: 'RestorePreflight',
                backupFile: command.backupFile,
                restore: { labels: command.restore.metadata?.labels ?? {}, spec: command.restore.spec ?? {} },
                subjects: result.subjects,
                permissions: perms,
                findings: result.findings,
                summary,
            };
            text = renderRestore(json, command.details);
        }
        io.stdout(command.output === 'json' ? `${JSON.stringify(json, null, 2)}\n` : text);
        if (command.stats) io.stderr(`${formatRequestStats(counter.snapshot())}\nelapsed: ${Date.now() - started} ms\n`);
        return json.summary.exitCode;
    } catch (error) {
        const message = error instanceof PluginError ? error.message : `unexpected error: ${errorMessage(error)}`;
        io.stderr(`preflight: ${message}\n`);
        return 1;
    } finally {
        kube?.close();
        reviewer.close();
    }
}
