/**
 * Everything the engine knows about the bounded contexts it serves: their commands (by name and
 * by GraphQL field), their aggregates and their processors. Built once from the contexts.
 */
import type { AnyAggregate, CommandSpec, CommandSpecs } from "../core/aggregate.ts";
import type { BoundedContext } from "../core/context.ts";
import type { AnyProcessor } from "../core/processors.ts";
import type { ProcessorKind } from "../core/stages.ts";

export interface RegisteredCommand {
  contextName: string;
  aggregate: AnyAggregate;
  type: string;
  spec: CommandSpec;
  /** The mutation's name: `CreateAccount` → `createAccount`. */
  fieldName: string;
}

export interface RegisteredProcessor {
  contextName: string;
  processor: AnyProcessor | SnapshotProcessor;
  /** `context.name`: keys its checkpoint. */
  id: string;
}

/** The built-in processor kind that snapshots an aggregate. */
export interface SnapshotProcessor {
  kind: "SNAPSHOT";
  name: string;
  eventTypes: readonly string[];
  aggregate: AnyAggregate;
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

export class Registry {
  readonly commands: RegisteredCommand[] = [];
  readonly processors: RegisteredProcessor[] = [];
  private readonly byKey = new Map<string, RegisteredCommand>();
  private readonly aggregates = new Map<string, { contextName: string; aggregate: AnyAggregate }>();

  constructor(
    readonly contexts: readonly BoundedContext[],
    options: { snapshots?: boolean } = {},
  ) {
    const fieldNames = new Set<string>();
    for (const context of contexts) {
      for (const aggregate of context.aggregates) {
        if (this.aggregates.has(aggregate.name)) throw new Error(`Aggregate ${aggregate.name} is defined twice`);
        this.aggregates.set(aggregate.name, { contextName: context.name, aggregate });
        for (const [type, spec] of Object.entries(aggregate.commands as CommandSpecs)) {
          const fieldName = lowerFirst(type);
          if (fieldNames.has(fieldName)) throw new Error(`Command ${type} is defined twice (mutation ${fieldName})`);
          fieldNames.add(fieldName);
          const command = { contextName: context.name, aggregate, type, spec, fieldName };
          this.commands.push(command);
          this.byKey.set(`${aggregate.name}/${type}`, command);
        }
        if (options.snapshots) {
          const snapshotter: SnapshotProcessor = {
            kind: "SNAPSHOT",
            name: `${aggregate.name}Snapshot`,
            eventTypes: aggregate.eventTypes,
            aggregate,
          };
          this.processors.push({
            contextName: context.name,
            processor: snapshotter,
            id: `${context.name}.${snapshotter.name}`,
          });
        }
      }
      for (const processor of context.processors ?? []) {
        const id = `${context.name}.${processor.name}`;
        if (this.processors.some((p) => p.id === id)) throw new Error(`Processor ${id} is defined twice`);
        this.processors.push({ contextName: context.name, processor, id });
      }
    }
  }

  command(aggregateName: string, type: string): RegisteredCommand | undefined {
    return this.byKey.get(`${aggregateName}/${type}`);
  }

  aggregate(name: string): { contextName: string; aggregate: AnyAggregate } | undefined {
    return this.aggregates.get(name);
  }

  /** Processors of `kind` that read any of `eventTypes`: the ones a runner stage waits for. */
  interested(kind: ProcessorKind, eventTypes: Iterable<string>): RegisteredProcessor[] {
    const types = new Set(eventTypes);
    return this.processors.filter(
      (p) => p.processor.kind === kind && p.processor.eventTypes.some((type) => types.has(type)),
    );
  }
}
