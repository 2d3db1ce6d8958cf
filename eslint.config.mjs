// ESLint (flat config): typescript-eslint with type information for the TypeScript sources and tests,
// ESLint's recommended rules for the build scripts. Formatting is Prettier's job (npm run format).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
    {
        // Generated protobuf code, build output, and the Go test tools (test/tools has its own toolchain).
        ignores: ['node_modules/', 'dist/', 'build/', 'coverage/', '.lab/', 'src/protocol/generated/', 'test/tools/'],
    },
    {
        linterOptions: { reportUnusedDisableDirectives: 'error' },
    },
    js.configs.recommended,
    {
        files: ['**/*.ts'],
        extends: [tseslint.configs.recommendedTypeChecked],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        rules: {
            '@typescript-eslint/no-floating-promises': 'error',
            '@typescript-eslint/no-misused-promises': 'error',
            '@typescript-eslint/no-explicit-any': 'error',
            // Both `import type { A }` and `import { type A, b }` are used; what matters is that type-only
            // imports say so (they vanish from the bundle).
            '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
            // An async function without await is how this code base implements a Promise-returning
            // interface (test doubles, gRPC handlers, credential sources): a throw becomes a rejection.
            '@typescript-eslint/require-await': 'off',
            // Re-throwing or rejecting with a caught value of type unknown is fine; new rejections are Errors.
            '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
            // `import x = require('./generated/messages')` is how the generated CommonJS module is imported.
            '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
            // A leading underscore marks a binding kept on purpose (as tsc's noUnusedParameters does).
            '@typescript-eslint/no-unused-vars': [
                'error',
                { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
            ],
        },
    },
    {
        // jest's asymmetric matchers (expect.stringContaining, expect.any, ...) are typed `any`.
        files: ['test/**/*.ts'],
        rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
    },
    {
        files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
        languageOptions: { globals: { ...globals.node } },
    },
    {
        // ESLint's default threshold: a function over 20 independent paths is split, or says here-and-now
        // (an eslint-disable-next-line with a reason) why it reads better as one.
        rules: { complexity: ['error', { max: 20 }] },
    },
);
