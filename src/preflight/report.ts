/**
 * The report of `preflight backup` and `preflight restore`: the JSON that `--output json` prints
 * (documented in docs/preflight-schema.md) and the input of the table renderer. Plain data only.
 */

export const SCHEMA_VERSION = 'preflight.kubevirt.io/v1';

/** How bad a finding is: `error` makes the command exit 1; `warning` and `info` do not. */
export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
    severity: Severity;
    /** A stable code for machines (see docs/preflight-schema.md). */
    code: string;
    message: string;
}

/** One object that travels with (backup) or is restored with (restore) a VM. */
export interface RelatedObject {
    /** "persistentvolumeclaims", "datavolumes.cdi.kubevirt.io". */
    resource: string;
    namespace: string;
    name: string;
    /**
     * backup: "included", "missing" (referenced, not in the cluster), "filtered" (the backup's resource
     * filters or the exclude label keep it out), "unchecked" (the preflight's identity cannot read it).
     * restore: "restored", "skipped" (a restore action skips it), "exists" (already in the target: Velero
     * keeps the existing one), "missing" (not in the backup), "filtered" (the restore's resource filters).
     */
    status: 'included' | 'missing' | 'filtered' | 'unchecked' | 'restored' | 'skipped' | 'exists';
    note?: string;
}

export interface ConsistencyVerdict {
    level: 'filesystem' | 'crash' | 'offline';
    reasons: string[];
    launcherPods: string[];
}

export interface BackupSubject {
    kind: 'VirtualMachine' | 'VirtualMachineInstance';
    namespace: string;
    name: string;
    included: boolean;
    /** Why it is (or is not) in the backup. */
    inclusion: string;
    /** The refusals the backup would log for it (exact texts), empty when it backs up. */
    refusals: string[];
    consistency?: ConsistencyVerdict;
    related: RelatedObject[];
    findings: Finding[];
}

export interface MissingPermission {
    verb: string;
    /** "pods", "datavolumes.cdi.kubevirt.io". */
    resource: string;
    /** "" for cluster-wide. */
    namespace: string;
    reason: string;
}

export interface BackupReport {
    schema: typeof SCHEMA_VERSION;
    kind: 'BackupPreflight';
    /** The Backup spec and labels the flags describe (what `velero backup create` would create). */
    backup: { labels: Record<string, string>; spec: Record<string, unknown> };
    namespaces: string[];
    subjects: BackupSubject[];
    permissions: { checked: boolean; identity: string; missing: MissingPermission[]; note?: string };
    findings: Finding[];
    summary: Summary;
}

export interface IdentityVerdict {
    field: string;
    value: string;
    /** The VM or VMI of the target cluster that already uses the value. */
    usedBy: string;
    /** What the restore as requested does with the value ("kept", "cleared", "replaced"). */
    requested: string;
    /** What identity-policy=auto would do: "clear" (MAC) or "replace with a new value". */
    auto: string;
}

export interface RestoreSubject {
    kind: 'VirtualMachine' | 'VirtualMachineInstance';
    /** Namespace in the backup, and where it lands after --namespace-mappings. */
    namespace: string;
    targetNamespace: string;
    name: string;
    restored: boolean;
    /** Why it is (or is not) restored. */
    reason: string;
    /** Errors the restore would log for it (exact texts). */
    refusals: string[];
    identity: IdentityVerdict[];
    related: RelatedObject[];
    findings: Finding[];
}

export interface RestoreReport {
    schema: typeof SCHEMA_VERSION;
    kind: 'RestorePreflight';
    backupFile: string;
    restore: { labels: Record<string, string>; spec: Record<string, unknown> };
    subjects: RestoreSubject[];
    permissions: { checked: boolean; identity: string; missing: MissingPermission[]; note?: string };
    findings: Finding[];
    summary: Summary;
}

export interface Summary {
    subjects: number;
    included: number;
    refused: number;
    errors: number;
    warnings: number;
    /** 0 all well, 1 something would be refused or broken. */
    exitCode: 0 | 1;
    text: string;
}

export function finding(severity: Severity, code: string, message: string): Finding {
    return { severity, code, message };
}
