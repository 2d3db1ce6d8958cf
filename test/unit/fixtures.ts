/**
 * Shared fixture loader for unit tests. Paths are relative to test/fixtures/ (e.g. 'graph/vm-running.yaml').
 * Fixtures are plain Kubernetes YAML; multi-document files hold several objects separated by `---`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/kube/object';
import { isRecord } from '../../src/kube/object';

export const FIXTURES_DIR = join(__dirname, '..', 'fixtures');
/** The realistic sample objects of manifests/samples (also created in the lab). */
export const SAMPLES_DIR = join(__dirname, '..', '..', 'manifests', 'samples');

/** Every object of a YAML file given by absolute path, in file order. */
export function loadYamlObjects(absPath: string): KubeObject[] {
    const text = readFileSync(absPath, 'utf8');
    const out: KubeObject[] = [];
    for (const doc of parseAllDocuments(text)) {
        if (doc.errors.length > 0) throw new Error(`${absPath}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
        const value: unknown = doc.toJS();
        if (value === null || value === undefined) continue; // empty document (e.g. trailing ---)
        if (!isRecord(value)) throw new Error(`${absPath}: document is not an object`);
        out.push(value);
    }
    return out;
}

function readDocs(relPath: string): KubeObject[] {
    return loadYamlObjects(join(FIXTURES_DIR, relPath));
}

/** Loads every object of a (multi-document) YAML fixture, in file order. */
export function loadFixtures(relPath: string): KubeObject[] {
    return readDocs(relPath);
}

/** Loads every object of a sample file of manifests/samples (e.g. '02-vm-with-pvc.yaml'). */
export function loadSamples(fileName: string): KubeObject[] {
    return loadYamlObjects(join(SAMPLES_DIR, fileName));
}
