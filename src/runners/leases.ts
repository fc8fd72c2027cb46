/**
 * Which processors this process runs, when several processes share one PostgreSQL: each
 * processor under a lease (src/store/lease-store.ts), renewed at a third of its time to live,
 * spread over the live processes in balanced shares (lease-shares.ts: floor(processors / live
 * processes), one more for the first processes by owner name, so that none is left with nothing
 * while another holds more than one); a dead holder's leases are taken over once they expire. A
 * lease this process lost (renewal refused, or not renewed in time by its own clock) stops its
 * runner at once; the fence in each batch's transaction catches what this loop cannot see in
 * time (a process stalled past its time to live). The store is meant to sit on a connection of
 * its own (src/store/lease-connection.ts), so that renewals never wait behind command traffic
 * for a pooled connection. On PGlite there is no lease: one process by nature.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { LeaseLost } from "../core/errors.ts";
import type { Logger } from "../logger.ts";
import type { HeldLease, LeaseStore } from "../store/lease-store.ts";
import type { SqlExecutor } from "../store/sql.ts";
import { leaseTargetOf } from "./lease-shares.ts";
import type { RunnerFence } from "./runner.ts";

export interface LeaseOptions {
  /** How long a lease lives unless renewed; renewals go at a third of it. */
  ttlMs: number;
  /** This process's name in the lease rows (default: host, pid and a random tag). */
  owner?: string;
}

/** The runners the leases start and stop (a RunnerSet). */
export interface LeasedRunners {
  readonly processorIds: readonly string[];
  startOne(processorId: string): void;
  stopOne(processorId: string): Promise<void>;
}

interface Holding {
  epoch: bigint;
  /** performance.now() past which this process no longer counts on the lease (its own clock, conservative). */
  validUntil: number;
  /** Over the share: its runner is finishing the batch in hand, then the lease is released. */
  handingOver?: boolean;
}

export class RunnerLeases implements RunnerFence {
  readonly owner: string;
  private readonly held = new Map<string, Holding>();
  private runners: LeasedRunners | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private paused = false;
  private failing = false;
  /**
   * Runners stopping (a lease handed over or lost), by processor: the lease loop does not wait
   * for them (a batch in hand may itself wait for a pooled connection, and renewals must not),
   * but does not start such a runner again before it stopped.
   */
  private readonly stopping = new Map<string, Promise<void>>();
  /** Handovers under way (runner stopping, then the lease released): awaited by `release`. */
  private readonly handovers = new Set<Promise<void>>();

  constructor(
    private readonly store: LeaseStore,
    private readonly options: LeaseOptions,
    private readonly logger: Logger,
  ) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  /** Takes this process's share of the leases now (starting their runners), then keeps them renewed. */
  async start(runners: LeasedRunners): Promise<void> {
    this.runners = runners;
    this.paused = false;
    await this.tickOnce();
    this.timer = setInterval(() => void this.tickOnce(), Math.max(1, Math.floor(this.options.ttlMs / 3)));
    this.timer.unref();
  }

  /** Stops renewing and taking leases (the runners go on until stopped; see `release`). */
  async pause(): Promise<void> {
    this.paused = true;
    clearInterval(this.timer);
    await this.ticking;
  }

  /** After the runners stopped: gives every lease up and leaves, so others take over at once. */
  async release(): Promise<void> {
    await this.pause();
    await Promise.all([...this.stopping.values(), ...this.handovers]);
    for (const [processorId, holding] of this.held) {
      await this.store
        .release(this.owner, { processorId, epoch: holding.epoch })
        .catch((err: unknown) => this.logger.warn({ err, processor: processorId }, "releasing a lease failed"));
    }
    this.held.clear();
    await this.store.leave(this.owner).catch(() => undefined);
  }

  /** The processors this process holds now. */
  holding(): string[] {
    return [...this.held.keys()];
  }

  holds(processorId: string): boolean {
    const holding = this.held.get(processorId);
    return !!holding && holding.validUntil > performance.now();
  }

  async check(executor: SqlExecutor, processorId: string): Promise<void> {
    const holding = this.held.get(processorId);
    if (!holding) throw new LeaseLost(processorId, 0n);
    await this.store.fence(executor, this.owner, { processorId, epoch: holding.epoch });
  }

  private tickOnce(): Promise<void> {
    this.ticking = this.ticking
      .then(() => (this.paused ? undefined : this.tick()))
      .catch((err: unknown) => {
        if (!this.failing) this.logger.warn({ err, owner: this.owner }, "runner leases: renewal failed; retrying");
        this.failing = true;
      });
    return this.ticking;
  }

  private async tick(): Promise<void> {
    const runners = this.runners;
    if (!runners) return;
    const { ttlMs } = this.options;
    const asked = performance.now();
    const live = await this.store.heartbeat(this.owner, ttlMs);

    // Leases this process's own clock already gave up (it stalled): never renew those.
    for (const [processorId, holding] of this.held) {
      if (holding.validUntil <= asked) this.lose(processorId, "not renewed in time");
    }
    const leases: HeldLease[] = [...this.held].map(([processorId, h]) => ({ processorId, epoch: h.epoch }));
    const kept = new Set((await this.store.renew(this.owner, leases, ttlMs)).map((l) => l.processorId));
    for (const lease of leases) {
      // A handover may have ended (and released its lease) while the renewal was under way.
      const holding = this.held.get(lease.processorId);
      if (holding?.epoch !== lease.epoch) continue;
      if (kept.has(lease.processorId)) holding.validUntil = asked + ttlMs;
      else this.lose(lease.processorId, "taken over or expired");
    }
    if (this.failing) this.logger.info({ owner: this.owner }, "runner leases: renewing again");
    this.failing = false;

    // Every process computes every target from the same live list: they add up to exactly the
    // processors, so while membership is stable nobody is over and nothing is free to take.
    const share = leaseTargetOf(runners.processorIds.length, live, this.owner);
    // Over the share (another process joined): hand the surplus over, runner first. Leases being
    // handed over still count as held (and are renewed) until their runner has stopped.
    const keeping = [...this.held].filter(([, holding]) => !holding.handingOver);
    for (const [processorId, holding] of keeping.slice(share)) this.handOver(processorId, holding, live.length);
    // Under the share: take free or expired leases, in a random order so that processes
    // starting together do not all queue on the same rows.
    const free = runners.processorIds.filter((id) => !this.held.has(id) && !this.stopping.has(id));
    for (const processorId of shuffle(free)) {
      if (this.held.size >= share) break;
      const lease = await this.store.acquire(this.owner, processorId, ttlMs);
      if (!lease) continue;
      this.held.set(processorId, { epoch: lease.epoch, validUntil: asked + ttlMs });
      runners.startOne(processorId);
      this.logger.info({ processor: processorId, owner: this.owner, epoch: String(lease.epoch) }, "runner lease taken");
    }
  }

  /** Its runner stops after the batch in hand (the fence refuses that batch if it is too late). */
  private lose(processorId: string, why: string): void {
    this.held.delete(processorId);
    void this.stopRunner(processorId);
    this.logger.warn({ processor: processorId, owner: this.owner }, `runner lease lost (${why}); runner stopping`);
  }

  /** Stops the runner after the batch in hand, then releases the lease so a newcomer need not wait it out. */
  private handOver(processorId: string, holding: Holding, live: number): void {
    holding.handingOver = true;
    const handover = this.stopRunner(processorId).then(async () => {
      // Lost meanwhile (renewal refused): nothing left to release.
      if (this.held.get(processorId) !== holding) return;
      this.held.delete(processorId);
      await this.store
        .release(this.owner, { processorId, epoch: holding.epoch })
        .catch((err: unknown) => this.logger.warn({ err, processor: processorId }, "releasing a lease failed"));
      this.logger.info({ processor: processorId, owner: this.owner, live }, "runner lease handed over");
    });
    this.handovers.add(handover);
    void handover.finally(() => this.handovers.delete(handover));
  }

  private stopRunner(processorId: string): Promise<void> {
    const stop = (this.stopping.get(processorId) ?? Promise.resolve())
      .then(() => this.runners?.stopOne(processorId))
      .catch((err: unknown) => this.logger.warn({ err, processor: processorId }, "stopping a runner failed"))
      .finally(() => {
        if (this.stopping.get(processorId) === stop) this.stopping.delete(processorId);
      });
    this.stopping.set(processorId, stop);
    return stop;
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
