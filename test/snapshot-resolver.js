/** Keeps jest snapshots (golden outputs) under test/fixtures/snapshots, next to the other fixtures. */
const path = require('node:path');

const TEST_ROOT = path.join(__dirname);
const SNAPSHOTS = path.join(__dirname, 'fixtures', 'snapshots');

module.exports = {
    resolveSnapshotPath: (testPath, extension) => path.join(SNAPSHOTS, path.relative(TEST_ROOT, testPath) + extension),
    resolveTestPath: (snapshotPath, extension) => path.join(TEST_ROOT, path.relative(SNAPSHOTS, snapshotPath).slice(0, -extension.length)),
    testPathForConsistencyCheck: path.join(TEST_ROOT, 'unit', 'graph', 'example.test.ts'),
};
