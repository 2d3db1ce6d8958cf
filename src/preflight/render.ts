/**
 * The summary line, the exit code and the table output of a preflight report.
 */
import type { BackupReport, BackupSubject, Finding, MissingPermission, RestoreReport, RestoreSubject, Summary } from './report';

function count(findings: readonly Finding[], severity: Finding['severity']): number {
    return findings.filter((f) => f.severity === severity).length;
}

function allFindings(top: readonly Finding[], subjects: readonly { findings: Finding[] }[]): Finding[] {
    return [...top, ...subjects.flatMap((s) => s.findings)];
}

function plural(n: number, word: string): string {
    return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function summarizeBackup(subjects: readonly BackupSubject[], findings: readonly Finding[], missing: readonly MissingPermission[], namespaces: number): Summary {
    const all = allFindings(findings, subjects);
    const included = subjects.filter((s) => s.included).length;
    const refused = subjects.filter((s) => s.refusals.length > 0).length;
    const errors = count(all, 'error') + missing.length;
    const warnings = count(all, 'warning');
    const levels = ['filesystem', 'crash', 'offline']
        .map((l) => [l, subjects.filter((s) => s.refusals.length === 0 && s.consistency?.level === l).length] as const)
        .filter(([, n]) => n > 0)
        .map(([l, n]) => `${n} ${l}`);
    const exitCode = refused > 0 || errors > 0 ? 1 : 0;
    const text =
        `backup preflight: ${plural(subjects.length, 'VM/VMI')} in ${plural(namespaces, 'namespace')}: ${included} included, ${refused} refused` +
        (levels.length > 0 ? ` (${levels.join(', ')}-consistent)` : '') +
        `, ${plural(errors, 'error')}, ${plural(warnings, 'warning')}` +
        (missing.length > 0 ? `, ${plural(missing.length, 'missing permission')}` : '') +
        ` — ${exitCode === 0 ? 'OK' : 'NOT OK'}`;
    return { subjects: subjects.length, included, refused, errors, warnings, exitCode, text };
}

export function summarizeRestore(subjects: readonly RestoreSubject[], findings: readonly Finding[], missing: readonly MissingPermission[]): Summary {
    const all = allFindings(findings, subjects);
    const included = subjects.filter((s) => s.restored).length;
    const refused = subjects.filter((s) => s.refusals.length > 0).length;
    const errors = count(all, 'error') + missing.length;
    const warnings = count(all, 'warning');
    const exitCode = refused > 0 || errors > 0 ? 1 : 0;
    const text =
        `restore preflight: ${plural(subjects.length, 'VM/VMI')}: ${included} restored, ${subjects.length - included} not restored, ${refused} failing` +
        `, ${plural(errors, 'error')}, ${plural(warnings, 'warning')}` +
        (missing.length > 0 ? `, ${plural(missing.length, 'missing permission')}` : '') +
        ` — ${exitCode === 0 ? 'OK' : 'NOT OK'}`;
    return { subjects: subjects.length, included, refused, errors, warnings, exitCode, text };
}

function table(rows: string[][]): string {
    const widths = (rows[0] ?? []).map((_c, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    return rows
        .map((r) =>
            r
                .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
                .join('  ')
                .trimEnd(),
        )
        .join('\n');
}

const SHORT_KIND = { VirtualMachine: 'VM', VirtualMachineInstance: 'VMI' } as const;

function problems(s: { refusals: string[]; findings: Finding[] }): string {
    const e = s.refusals.length + count(s.findings, 'error');
    const w = count(s.findings, 'warning');
    const parts = [e > 0 ? plural(e, 'error') : '', w > 0 ? plural(w, 'warning') : ''].filter((p) => p !== '');
    return parts.length === 0 ? '-' : parts.join(', ');
}

function findingLines(s: { refusals: string[]; findings: Finding[] }, withInfo: boolean): string[] {
    return [
        ...s.refusals.map((r) => `    REFUSED  ${r}`),
        ...s.findings.filter((f) => withInfo || f.severity !== 'info').map((f) => `    ${f.severity.toUpperCase().padEnd(7)}  ${f.code}: ${f.message}`),
    ];
}

function permissionLines(p: BackupReport['permissions']): string[] {
    if (!p.checked) return [`Permissions of ${p.identity}: not checked${p.note ? ` (${p.note})` : ''}`];
    if (p.missing.length === 0) return [`Permissions of ${p.identity}: all the plugin's reads are allowed`];
    return [`Permissions of ${p.identity}: missing`, ...p.missing.map((m) => `    ${m.verb} ${m.resource}${m.namespace ? ` in namespace ${m.namespace}` : ' (all namespaces)'}`)];
}

export function renderBackup(report: BackupReport, details: boolean): string {
    const rows = [['NAMESPACE', 'KIND', 'NAME', 'BACKUP', 'CONSISTENCY', 'TRAVELS', 'PROBLEMS']];
    for (const s of report.subjects) {
        const verdict = !s.included ? 'not included' : s.refusals.length > 0 ? 'REFUSED' : 'included';
        const travels = s.related.filter((r) => r.status === 'included').length;
        rows.push([s.namespace, SHORT_KIND[s.kind], s.name, verdict, s.included && s.consistency ? s.consistency.level : '-', s.included ? String(travels) : '-', problems(s)]);
    }
    const out: string[] = [];
    out.push(report.subjects.length > 0 ? table(rows) : `No VMs or standalone VMIs in namespaces: ${report.namespaces.join(', ') || '(none)'}`);
    const detailed = report.subjects.filter(
        (s) => details || s.refusals.length > 0 || s.findings.some((f) => f.severity !== 'info') || (s.included && s.consistency?.level === 'crash'),
    );
    if (detailed.length > 0) out.push('', 'Details:');
    for (const s of detailed) {
        out.push(`  ${s.kind} ${s.namespace}/${s.name}: ${s.included ? 'included' : 'not included'} (${s.inclusion})`);
        if (s.consistency && s.refusals.length === 0) out.push(`    consistency: ${s.consistency.level} (${s.consistency.reasons.join('; ')})`);
        out.push(...findingLines(s, details));
        if (details) {
            for (const r of s.related) out.push(`    travels: ${r.status.padEnd(8)} ${r.resource} ${r.namespace}/${r.name}${r.note ? ` (${r.note})` : ''}`);
        }
    }
    for (const f of report.findings) out.push(`${f.severity.toUpperCase()}  ${f.code}: ${f.message}`);
    out.push('', ...permissionLines(report.permissions), '', report.summary.text);
    return out.join('\n') + '\n';
}

export function renderRestore(report: RestoreReport, details: boolean): string {
    const rows = [['NAMESPACE', 'TARGET', 'KIND', 'NAME', 'RESTORE', 'OBJECTS', 'IDENTITY', 'PROBLEMS']];
    for (const s of report.subjects) {
        const verdict = s.refusals.length > 0 ? 'FAILS' : s.restored ? 'restored' : 'skipped';
        const objects = s.related.filter((r) => r.status === 'restored').length;
        const identity = s.identity.length === 0 ? '-' : plural(s.identity.length, 'collision');
        rows.push([s.namespace, s.targetNamespace, SHORT_KIND[s.kind], s.name, verdict, s.restored ? String(objects) : '-', identity, problems(s)]);
    }
    const out: string[] = [];
    out.push(report.subjects.length > 0 ? table(rows) : 'No VMs or standalone VMIs in the backup');
    const detailed = report.subjects.filter((s) => details || s.refusals.length > 0 || s.findings.some((f) => f.severity !== 'info') || s.identity.length > 0);
    if (detailed.length > 0) out.push('', 'Details:');
    for (const s of detailed) {
        out.push(`  ${s.kind} ${s.namespace}/${s.name} → ${s.targetNamespace}/${s.name}: ${s.restored ? 'restored' : 'not restored'} (${s.reason})`);
        out.push(...findingLines(s, true));
        if (details) {
            for (const r of s.related) out.push(`    with: ${r.status.padEnd(8)} ${r.resource} ${r.namespace}/${r.name}${r.note ? ` (${r.note})` : ''}`);
        }
    }
    for (const f of report.findings) out.push(`${f.severity.toUpperCase()}  ${f.code}: ${f.message}`);
    out.push('', ...permissionLines(report.permissions), '', report.summary.text);
    return out.join('\n') + '\n';
}
