import * as vscode from 'vscode';

/** The status-bar item: the server's state, then the findings by severity. */
export class StatusItem implements vscode.Disposable {
    private readonly item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
    private indexed = false;
    private readonly listener: vscode.Disposable;

    constructor() {
        this.item.name = 'SchemaLens';
        this.item.command = 'schemalens.showOutput';
        this.listener = vscode.languages.onDidChangeDiagnostics(() => this.indexed && this.showCounts());
        this.set('$(sync~spin) SchemaLens: starting', 'Starting the SchemaLens server');
        this.item.show();
    }

    indexing(): void {
        this.indexed = false;
        this.set('$(sync~spin) SchemaLens: indexing', 'Indexing models, migrations and queries');
    }

    ready(): void {
        this.indexed = true;
        this.showCounts();
    }

    failed(reason: string): void {
        this.indexed = false;
        this.set('$(error) SchemaLens', reason);
    }

    private showCounts(): void {
        const counts = { P0: 0, P1: 0, P2: 0 };
        for (const [, diagnostics] of vscode.languages.getDiagnostics()) {
            for (const diagnostic of diagnostics) {
                if (diagnostic.source !== 'schemalens') {
                    continue;
                }
                if (diagnostic.severity === vscode.DiagnosticSeverity.Error) {
                    counts.P0++;
                } else if (diagnostic.severity === vscode.DiagnosticSeverity.Warning) {
                    counts.P1++;
                } else {
                    counts.P2++;
                }
            }
        }
        this.set(`$(database) P0 ${counts.P0} · P1 ${counts.P1} · P2 ${counts.P2}`,
            `SchemaLens findings: ${counts.P0} P0, ${counts.P1} P1, ${counts.P2} P2 (click for the server output)`);
    }

    private set(text: string, tooltip: string): void {
        this.item.text = text;
        this.item.tooltip = tooltip;
    }

    dispose(): void {
        this.listener.dispose();
        this.item.dispose();
    }
}
