/**
 * Lab suite: real etcd, kube-apiserver and velero server (test/lab/README.md). One lab is started by the
 * globalSetup for the whole run and stopped by the globalTeardown; tests reach it with connectLab().
 * Run (after scripts/setup.sh): NODE_OPTIONS=--experimental-vm-modules jest -c test/lab/jest.config.js --runInBand
 */
module.exports = {
    rootDir: '../..',
    testEnvironment: 'node',
    roots: ['<rootDir>/test/lab'],
    testMatch: ['**/*.test.ts'],
    transform: { '^.+\\.ts$': 'ts-jest' },
    globalSetup: '<rootDir>/test/lab/global-setup.ts',
    globalTeardown: '<rootDir>/test/lab/global-teardown.ts',
    // Test files share one lab: never in parallel.
    maxWorkers: 1,
    testTimeout: 300000,
    slowTestThreshold: 120,
};
