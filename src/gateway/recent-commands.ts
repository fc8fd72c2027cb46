/**
 * The tenants of the commands this process accepted lately, so that a client subscribing to the
 * results of a command it just sent (the usual case: send, then watch) is checked against its
 * tenant without reading the command back from the store. Bounded, oldest first out; a command
 * not (or no longer) here is looked up in the store as before. Only accepted commands are
 * recorded, so a hit is always a stored command.
 */
export class RecentCommands {
  // A Map iterates in insertion order: the oldest entry is first.
  private readonly tenants = new Map<string, string>();

  constructor(private readonly maxEntries: number) {}

  add(commandId: string, tenantId: string): void {
    if (this.maxEntries === 0) return;
    this.tenants.set(commandId, tenantId);
    if (this.tenants.size > this.maxEntries) this.tenants.delete(this.tenants.keys().next().value as string);
  }

  tenantOf(commandId: string): string | undefined {
    return this.tenants.get(commandId);
  }

  get size(): number {
    return this.tenants.size;
  }
}
