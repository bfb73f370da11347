import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { readSettings, toServerSettings } from '../common/settings';

function reader(values: Record<string, unknown>) {
    return <T>(key: string, fallback: T): T => (key in values ? (values[key] as T) : fallback);
}

test('defaults send nothing, so the project configuration stays in force', () => {
    assert.deepEqual(toServerSettings(readSettings(reader({}))), {});
});

test('settings map to the server names', () => {
    const settings = readSettings(reader({
        select: ['SL4', 'SL505'], ignore: ['SL2'], severity: { SL201: 'P1' }, perPathIgnores: { 'legacy/**': ['SL2'] },
        dialect: 'mysql', hintsFile: 'db/hints.toml', interpreter: ['/venv/bin/python'], lang: 'zh',
    }));
    assert.deepEqual(toServerSettings(settings), {
        select: ['SL4', 'SL505'], ignore: ['SL2'], severity: { SL201: 'P1' }, per_path_ignores: { 'legacy/**': ['SL2'] },
        dialect: 'mysql', hints_file: 'db/hints.toml', lang: 'zh',
    });
    assert.deepEqual(settings.interpreter, ['/venv/bin/python']);
});

test('an empty dialect or hints file leaves the project one', () => {
    assert.deepEqual(toServerSettings(readSettings(reader({ dialect: '', hintsFile: '', select: ['SL3'] }))), { select: ['SL3'] });
});
