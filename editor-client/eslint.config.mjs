import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        rules: {
            'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'only extension.ts and status.ts use vscode' }] }],
        },
    },
    { files: ['src/extension.ts', 'src/common/status.ts'], rules: { 'no-restricted-imports': 'off' } },
);
