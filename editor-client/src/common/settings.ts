// The extension's settings, and the server settings they become (initializationOptions and
// workspace/didChangeConfiguration under "schemalens"). No vscode import: unit-tested in node.

export interface ExtensionSettings {
    interpreter: string[];
    select: string[];
    ignore: string[];
    severity: Record<string, string>;
    perPathIgnores: Record<string, string[]>;
    dialect: string;
    hintsFile: string;
    lang: string;
}

export type ServerSettings = Record<string, unknown>;

/** Reads one setting; `get(key, fallback)` is `WorkspaceConfiguration.get` in the extension. */
export type SettingReader = <T>(key: string, fallback: T) => T;

export function readSettings(get: SettingReader): ExtensionSettings {
    return {
        interpreter: get<string[]>('interpreter', []),
        select: get<string[]>('select', []),
        ignore: get<string[]>('ignore', []),
        severity: get<Record<string, string>>('severity', {}),
        perPathIgnores: get<Record<string, string[]>>('perPathIgnores', {}),
        dialect: get<string>('dialect', ''),
        hintsFile: get<string>('hintsFile', ''),
        lang: get<string>('lang', ''),
    };
}

/**
 * Only what the user set is sent: an empty list or object leaves the project's own
 * configuration (pyproject.toml / schemalens.toml) in force.
 */
export function toServerSettings(settings: ExtensionSettings): ServerSettings {
    const server: ServerSettings = {};
    if (settings.select.length > 0) {
        server.select = settings.select;
    }
    if (settings.ignore.length > 0) {
        server.ignore = settings.ignore;
    }
    if (Object.keys(settings.severity).length > 0) {
        server.severity = settings.severity;
    }
    if (Object.keys(settings.perPathIgnores).length > 0) {
        server.per_path_ignores = settings.perPathIgnores;
    }
    if (settings.dialect) {
        server.dialect = settings.dialect;
    }
    if (settings.hintsFile) {
        server.hints_file = settings.hintsFile;
    }
    if (settings.lang) {
        server.lang = settings.lang;
    }
    return server;
}

/** Settings whose change needs a new server process rather than a configuration notification. */
export const RESTART_SETTINGS = ['schemalens.interpreter'];
