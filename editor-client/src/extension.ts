// The SchemaLens extension: finds a Python with SchemaLens (offering to install it), runs
// `python -m schemalens lsp` over stdio, restarts it (bounded) after a crash and when the
// interpreter changes, and adds the report, schema map and scaffold commands and a status item.

import * as vscode from 'vscode';
import { PythonExtension } from '@vscode/python-extension';
import {
    CloseAction,
    ErrorAction,
    ExecuteCommandRequest,
    LanguageClient,
    LanguageClientOptions,
    ServerOptions,
    State,
} from 'vscode-languageclient/node';

import { OPTIONAL_OPTIONS, SCAFFOLD_CHANGES, SECTION, SERVER_NAME, scaffoldArguments, verifyArguments } from './common/constants';
import {
    Interpreter,
    pipInstallArguments,
    probeSchemaLens,
    resolveInterpreter,
    runProcess,
    serverArguments,
    whichOnPath,
} from './common/python';
import { RestartBudget } from './common/restarts';
import { RESTART_SETTINGS, readSettings, toServerSettings } from './common/settings';
import { StatusItem } from './common/status';

let client: LanguageClient | undefined;
let interpreter: Interpreter | undefined;
let output: vscode.LogOutputChannel;
let status: StatusItem;
const budget = new RestartBudget();

function settings() {
    const configuration = vscode.workspace.getConfiguration(SECTION, vscode.workspace.workspaceFolders?.[0]);
    return readSettings((key, fallback) => configuration.get(key, fallback));
}

async function activeEnvironment(): Promise<string | undefined> {
    if (!vscode.extensions.getExtension('ms-python.python')) {
        return undefined;
    }
    const api = await PythonExtension.api();
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const environment = await api.environments.resolveEnvironment(api.environments.getActiveEnvironmentPath(folder));
    return environment?.executable.uri?.fsPath;
}

async function findInterpreter(): Promise<Interpreter | undefined> {
    const found = await resolveInterpreter({
        setting: settings().interpreter,
        pythonExtension: activeEnvironment,
        which: (name) => whichOnPath(name),
    });
    if (!found) {
        status.failed('No Python interpreter found');
        void vscode.window.showErrorMessage(
            'SchemaLens: no Python found. Set "schemalens.interpreter" or install Python 3.10+.');
        return undefined;
    }
    output.info(`interpreter: ${found.command.join(' ')} (from ${found.source})`);
    const probe = await probeSchemaLens(found.command);
    if (probe.installed) {
        output.info(`schemalens ${probe.version}`);
        return found;
    }
    output.warn(`schemalens is not importable there: ${probe.error}`);
    const install = 'Install with pip';
    const choice = await vscode.window.showWarningMessage(
        `SchemaLens is not installed for ${found.command.join(' ')}.`, install, 'Choose interpreter setting');
    if (choice === install) {
        const { file, args } = pipInstallArguments(found.command);
        try {
            await vscode.window.withProgress(
                { location: vscode.ProgressLocation.Notification, title: 'Installing SchemaLens with pip' },
                () => runProcess(file, args));
            return (await probeSchemaLens(found.command)).installed ? found : undefined;
        } catch (error) {
            output.error(String(error));
            void vscode.window.showErrorMessage(`SchemaLens: pip install failed (see the output): ${String(error)}`);
        }
    } else if (choice) {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'schemalens.interpreter');
    }
    status.failed('SchemaLens is not installed for the interpreter');
    return undefined;
}

async function startServer(): Promise<void> {
    interpreter = await findInterpreter();
    if (!interpreter) {
        return;
    }
    const { command, args } = serverArguments(interpreter.command);
    const serverOptions: ServerOptions = { command, args, options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath } };
    const clientOptions: LanguageClientOptions = {
        documentSelector: [{ scheme: 'file', language: 'python' }, { scheme: 'file', language: 'sql' }],
        outputChannel: output,
        initializationOptions: { schemalens: toServerSettings(settings()) },
        middleware: {
            handleDiagnostics: (uri, diagnostics, next) => {
                status.ready();
                next(uri, diagnostics);
            },
        },
        errorHandler: {
            error: () => ({ action: ErrorAction.Continue }),
            closed: () => {
                if (budget.crashed()) {
                    output.warn('the server stopped; restarting it');
                    return { action: CloseAction.Restart };
                }
                status.failed('The server crashed repeatedly; run "SchemaLens: Restart server"');
                return { action: CloseAction.DoNotRestart, message: 'SchemaLens crashed 5 times in 3 minutes and was not restarted.' };
            },
        },
    };
    client = new LanguageClient(SECTION, SERVER_NAME, serverOptions, clientOptions);
    client.onDidChangeState((change) => {
        if (change.newState === State.Running) {
            status.indexing();
        }
    });
    status.indexing();
    await client.start();
}

async function stopServer(): Promise<void> {
    const running = client;
    client = undefined;
    if (running) {
        await running.stop().catch((error) => output.warn(`stopping the server: ${String(error)}`));
    }
}

async function restartServer(): Promise<void> {
    budget.reset();
    await stopServer();
    await startServer();
}

async function serverCommand(command: string, ...args: unknown[]): Promise<string | undefined> {
    if (!client) {
        void vscode.window.showWarningMessage('SchemaLens: the server is not running.');
        return undefined;
    }
    return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
}

async function openPreview(command: string, ...args: unknown[]): Promise<void> {
    const uri = await serverCommand(command, ...args);
    if (uri) {
        await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.parse(uri));
    }
}

async function scaffold(): Promise<void> {
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!root || !interpreter) {
        void vscode.window.showWarningMessage('SchemaLens: open a workspace folder with a running server first.');
        return;
    }
    const change = await vscode.window.showQuickPick(Object.keys(SCAFFOLD_CHANGES), { title: 'SchemaLens: safe migration for...' });
    const table = change && (await vscode.window.showInputBox({ title: `${change}: table`, ignoreFocusOut: true }));
    if (!change || !table) {
        return;
    }
    const options: Record<string, string> = {};
    for (const option of SCAFFOLD_CHANGES[change]) {
        const value = await vscode.window.showInputBox({
            title: `${change} on ${table}: --${option}`, ignoreFocusOut: true,
            prompt: OPTIONAL_OPTIONS.has(option) ? 'optional: leave empty to skip' : undefined,
        });
        if (value === undefined) {
            return;
        }
        options[option] = value;
    }
    const args = [...interpreter.command.slice(1), ...scaffoldArguments(change, table, options, root)];
    try {
        const written = await runProcess(interpreter.command[0], args, root);
        output.info(written);
        const files = written.split('\n').map((line) => line.trim().split(/\s+/)[1]).filter(Boolean);
        for (const file of files) {
            await vscode.window.showTextDocument(vscode.Uri.file(`${root}/${file}`), { preview: false });
        }
        void vscode.window.showInformationMessage(`SchemaLens wrote ${files.length} revision(s).`);
    } catch (error) {
        void vscode.window.showErrorMessage(`SchemaLens: ${String(error)}`);
    }
}

async function verifyMigrations(): Promise<void> {
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!root || !interpreter) {
        void vscode.window.showWarningMessage('SchemaLens: open a workspace folder with a running server first.');
        return;
    }
    // The project's code (env.py, revisions) runs in the interpreter the Python extension uses for
    // this workspace, where the application imports; SchemaLens itself runs in `interpreter`.
    const projectPython = (await activeEnvironment().catch(() => undefined)) ?? interpreter.command[0];
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const report = join(tmpdir(), `schemalens-verify-${Date.now()}.md`);
    const args = [...interpreter.command.slice(1), ...verifyArguments(root, report, projectPython)];
    output.info(`verify: ${interpreter.command[0]} ${args.join(' ')}`);
    await runProcess(interpreter.command[0], args, root).catch((error: Error) => {
        // exit 1 means the rehearsal found failures: the report says which.
        output.info(error.message);
    });
    await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(report));
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    output = vscode.window.createOutputChannel(SERVER_NAME, { log: true });
    status = new StatusItem();
    context.subscriptions.push(
        output,
        status,
        // No language argument: the server follows schemalens.lang, the project's, else VS Code's locale.
        vscode.commands.registerCommand('schemalens.openReport', () => openPreview('schemalens.generateReport')),
        vscode.commands.registerCommand('schemalens.openSchemaMap', () => openPreview('schemalens.showSchemaMap')),
        vscode.commands.registerCommand('schemalens.scaffold', scaffold),
        vscode.commands.registerCommand('schemalens.verify', verifyMigrations),
        vscode.commands.registerCommand('schemalens.restart', restartServer),
        vscode.commands.registerCommand('schemalens.showOutput', () => output.show()),
        vscode.workspace.onDidChangeConfiguration(async (event) => {
            if (RESTART_SETTINGS.some((key) => event.affectsConfiguration(key))) {
                await restartServer();
            } else if (event.affectsConfiguration(SECTION) && client) {
                await client.sendNotification('workspace/didChangeConfiguration', { settings: { schemalens: toServerSettings(settings()) } });
            }
        }),
    );
    await startServer();
}

export async function deactivate(): Promise<void> {
    await stopServer();
}
