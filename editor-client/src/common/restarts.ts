// A bounded restart policy: the server is restarted after a crash unless it crashed
// `limit` times within `windowMs` (then the user is told and restarts it by hand).

export class RestartBudget {
    private crashes: number[] = [];

    constructor(private readonly limit = 5, private readonly windowMs = 3 * 60_000, private readonly now = () => Date.now()) {}

    /** Records a crash; true when another restart is allowed. */
    crashed(): boolean {
        const time = this.now();
        this.crashes = this.crashes.filter((at) => time - at < this.windowMs);
        this.crashes.push(time);
        return this.crashes.length <= this.limit;
    }

    reset(): void {
        this.crashes = [];
    }
}
