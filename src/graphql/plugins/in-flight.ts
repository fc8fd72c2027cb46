/**
 * The requests being answered, for a graceful stop: `settle` waits until each was answered.
 * SSE streams are left out: they end only when closed, which the server's close() does.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export class InFlightRequests {
  private readonly answering = new Set<Promise<void>>();

  track(req: IncomingMessage, res: ServerResponse): void {
    if (req.headers.accept?.includes("text/event-stream")) return;
    const done = new Promise<void>((resolve) => res.once("close", resolve));
    this.answering.add(done);
    void done.then(() => this.answering.delete(done));
  }

  /** Resolves once every tracked request was answered, or after `timeoutMs`. */
  async settle(timeoutMs: number): Promise<void> {
    const deadline = AbortSignal.timeout(timeoutMs);
    while (this.answering.size > 0 && !deadline.aborted) {
      await Promise.race([
        Promise.allSettled([...this.answering]),
        new Promise((resolve) => deadline.addEventListener("abort", resolve, { once: true })),
      ]);
    }
  }
}
