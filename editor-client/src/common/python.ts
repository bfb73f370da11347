// Which Python runs the server: the `schemalens.interpreter` setting, else the Python
// extension's active interpreter, else `python3` on PATH; and whether SchemaLens is installed
// there. No vscode import: unit-tested in node with the lookups passed in.

import { execFile } from 'node:child_process';

export interface InterpreterSources {
    setting: string[];
    /** The Python extension's active environment for the workspace, when it is installed. */
    pythonExtension: () => Promise<string | undefined>;
    /** An executable's full path on PATH, or undefined. */
    which: (name: string) => Promise<string | undefined>;
}

export interface Interpreter {
    command: string[];
    source: 'setting' | 'python extension' | 'PATH';
}

export async function resolveInterpreter(sources: InterpreterSources): Promise<Interpreter | undefined> {
    if (sources.setting.length > 0 && sources.setting[0]) {
        return { command: sources.setting, source: 'setting' };
    }
    const active = await sources.pythonExtension().catch(() => undefined);
    if (active) {
        return { command: [active], source: 'python extension' };
    }
    for (const name of ['python3', 'python']) {
        const found = await sources.which(name);
        if (found) {
            return { command: [found], source: 'PATH' };
        }
    }
    return undefined;
}

export interface ProbeResult {
    installed: boolean;
    version?: string;
    error?: string;
}

/** Runs `python -c "import schemalens; print(schemalens.__version__)"`. */
export function probeSchemaLens(command: string[], run = runProcess): Promise<ProbeResult> {
    return run(command[0], [...command.slice(1), '-c', 'import schemalens; print(schemalens.__version__)']).then(
        (output) => ({ installed: true, version: output.trim() }),
        (error: Error) => ({ installed: false, error: error.message }),
    );
}

export function pipInstallArguments(command: string[]): { file: string; args: string[] } {
    return { file: command[0], args: [...command.slice(1), '-m', 'pip', 'install', '--upgrade', 'schemalens'] };
}

export function serverArguments(command: string[]): { command: string; args: string[] } {
    return { command: command[0], args: [...command.slice(1), '-m', 'schemalens', 'lsp'] };
}

export function runProcess(file: string, args: string[], cwd?: string): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile(file, args, { cwd, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
            if (error) {
                reject(new Error(`${file} ${args.join(' ')}: ${stderr || error.message}`.trim()));
            } else {
                resolve(stdout);
            }
        });
    });
}

/** `which` without a dependency: the first PATH entry holding an executable file `name`. */
export async function whichOnPath(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
    const { access, constants } = await import('node:fs/promises');
    const { delimiter, join } = await import('node:path');
    for (const folder of path.split(delimiter).filter(Boolean)) {
        const candidate = join(folder, name);
        try {
            await access(candidate, constants.X_OK);
            return candidate;
        } catch {
            continue;
        }
    }
    return undefined;
}
