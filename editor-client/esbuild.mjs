// Bundles the extension into dist/extension.js (vscode stays external); with --tests, builds
// the unit tests into out/test for `node --test`.
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';

const production = process.argv.includes('--production');

if (process.argv.includes('--tests')) {
    const tests = readdirSync('src/test').filter((name) => name.endsWith('.test.ts')).map((name) => `src/test/${name}`);
    await build({ entryPoints: tests, bundle: true, platform: 'node', format: 'cjs', outdir: 'out/test', target: 'node20' });
} else {
    await build({
        entryPoints: ['src/extension.ts'],
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        outfile: 'dist/extension.js',
        external: ['vscode'],
        minify: production,
        sourcemap: !production,
    });
}
