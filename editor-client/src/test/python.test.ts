import { strict as assert } from 'node:assert';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';

import { pipInstallArguments, probeSchemaLens, resolveInterpreter, serverArguments, whichOnPath } from '../common/python';
import { RestartBudget } from '../common/restarts';
import { scaffoldArguments, verifyArguments } from '../common/constants';

const nowhere = async () => undefined;

test('the setting wins, with its arguments', async () => {
    const found = await resolveInterpreter({ setting: ['/opt/py/bin/python', '-X', 'utf8'], pythonExtension: async () => '/env/python', which: nowhere });
    assert.deepEqual(found, { command: ['/opt/py/bin/python', '-X', 'utf8'], source: 'setting' });
    assert.deepEqual(serverArguments(found!.command), { command: '/opt/py/bin/python', args: ['-X', 'utf8', '-m', 'schemalens', 'lsp'] });
});

test('then the Python extension, then python3 on PATH', async () => {
    assert.equal((await resolveInterpreter({ setting: [], pythonExtension: async () => '/env/bin/python', which: nowhere }))?.source,
        'python extension');
    const fromPath = await resolveInterpreter({ setting: [], pythonExtension: async () => { throw new Error('not activated'); },
        which: async (name) => (name === 'python3' ? '/usr/bin/python3' : undefined) });
    assert.deepEqual(fromPath, { command: ['/usr/bin/python3'], source: 'PATH' });
    assert.equal(await resolveInterpreter({ setting: [], pythonExtension: nowhere, which: nowhere }), undefined);
});

test('which finds executables on PATH only', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'which-'));
    await writeFile(join(folder, 'python3'), '#!/bin/sh\n');
    assert.equal(await whichOnPath('python3', `/nonexistent${delimiter}${folder}`), undefined);  // not executable yet
    await chmod(join(folder, 'python3'), 0o755);
    assert.equal(await whichOnPath('python3', `/nonexistent${delimiter}${folder}`), join(folder, 'python3'));
});

test('probing reports whether schemalens imports, and pip installs into the same interpreter', async () => {
    const ok = await probeSchemaLens(['/py'], async (file, args) => { assert.deepEqual([file, ...args].slice(-2), ['-c', 'import schemalens; print(schemalens.__version__)']); return '0.1.0\n'; });
    assert.deepEqual(ok, { installed: true, version: '0.1.0' });
    const missing = await probeSchemaLens(['/py'], async () => { throw new Error("No module named 'schemalens'"); });
    assert.equal(missing.installed, false);
    assert.deepEqual(pipInstallArguments(['/py', '-X', 'utf8']), { file: '/py', args: ['-X', 'utf8', '-m', 'pip', 'install', '--upgrade', 'schemalens'] });
});

test('restarts are bounded to 5 crashes in 3 minutes', () => {
    let now = 0;
    const budget = new RestartBudget(5, 180_000, () => now);
    for (let crash = 0; crash < 5; crash++) {
        assert.equal(budget.crashed(), true);
        now += 1000;
    }
    assert.equal(budget.crashed(), false);
    now += 180_000;
    assert.equal(budget.crashed(), true);
});

test('scaffold arguments skip empty options', () => {
    assert.deepEqual(scaffoldArguments('add-column', 'orders', { column: 'channel', type: 'text', default: "'web'", backfill: '' }, '/w'),
        ['-m', 'schemalens', 'scaffold', 'add-column', '--table', 'orders', '--column', 'channel', '--type', 'text', '--default', "'web'", '--path', '/w']);
});

test('verify passes the project interpreter as --python', () => {
    assert.deepEqual(verifyArguments('/work/shop', '/tmp/report.md', '/work/shop/.venv/bin/python'),
        ['-m', 'schemalens', 'verify', '/work/shop', '--format', 'markdown', '--output', '/tmp/report.md',
            '--python', '/work/shop/.venv/bin/python']);
    assert.deepEqual(verifyArguments('/work/shop', '/tmp/report.md'),
        ['-m', 'schemalens', 'verify', '/work/shop', '--format', 'markdown', '--output', '/tmp/report.md']);
});
