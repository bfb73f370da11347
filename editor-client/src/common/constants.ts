export const SERVER_NAME = 'SchemaLens';
export const SECTION = 'schemalens';

/** The `schemalens scaffold` changes and the options each one asks for, in the order asked. */
export const SCAFFOLD_CHANGES: Record<string, string[]> = {
    'add-column': ['column', 'type', 'default', 'backfill'],
    'set-not-null': ['column', 'backfill'],
    'rename-column': ['column', 'new-name'],
    'rename-table': ['new-name'],
    'change-type': ['column', 'type'],
    'add-foreign-key': ['columns', 'ref', 'on-delete'],
    'add-unique': ['columns'],
    'add-check': ['check', 'name'],
    'add-index': ['columns', 'where', 'using'],
    'drop-column': ['column', 'default'],
    'add-composite-fk': ['columns', 'ref'],
};

/** Options that may be left empty. */
export const OPTIONAL_OPTIONS = new Set(['default', 'backfill', 'on-delete', 'name', 'where', 'using']);

export function scaffoldArguments(change: string, table: string, options: Record<string, string>, root: string): string[] {
    const args = ['-m', 'schemalens', 'scaffold', change, '--table', table];
    for (const option of SCAFFOLD_CHANGES[change] ?? []) {
        const value = options[option];
        if (value) {
            args.push(`--${option}`, value);
        }
    }
    return [...args, '--path', root];
}

/**
 * `schemalens verify` for the workspace, writing its Markdown report to `output`. `projectPython`:
 * the interpreter the project runs with (the Python extension's active environment), passed as
 * `--python` so that env.py and the revisions run where the application imports.
 */
export function verifyArguments(root: string, output: string, projectPython?: string): string[] {
    const args = ['-m', 'schemalens', 'verify', root, '--format', 'markdown', '--output', output];
    return projectPython ? [...args, '--python', projectPython] : args;
}
