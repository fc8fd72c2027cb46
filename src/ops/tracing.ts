/**
 * OpenTelemetry tracing: one trace per command, from the mutation to every processor that
 * handles its events. The trace context travels with the work, not in memory: the command's
 * span writes its W3C `traceparent` into the command's header (stored with the command), the
 * group commit copies it onto each event the command produced (the events' `traceparent`
 * column), and a worker or runner that takes the command or its events up — in this process or
 * in another one after a restart — opens its span as a child of that stored context.
 *
 * Off unless started (an OTLP endpoint configured, or a test's exporter): every hook below is
 * then a plain call of the work it wraps, and nothing is written to headers or events.
 * The gateway, the group commit, the runner and the saga adapter each call one hook here.
 */

import { AsyncLocalStorage } from "node:async_hooks";
import {
  type Context,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import type { RecordedEvent } from "../core/messages.ts";
import type { Logger } from "../logger.ts";

/** The command fields tracing reads (a command being sent, or one stored). */
export interface TracedCommand {
  commandId: string;
  tenantId: string;
  aggregateName: string;
  aggregateId: string;
  type: string;
  header: Record<string, unknown>;
}

export interface TracingConfig {
  /** OTLP/HTTP collector base URL (`…/v1/traces` is added); absent: tracing off. */
  otlpEndpoint: string | undefined;
  serviceName: string;
}

export interface Tracing {
  /** Exports every span ended so far. */
  flush(): Promise<void>;
  /** Flushes and stops; the hooks are plain calls again. */
  shutdown(): Promise<void>;
}

/** The header key (and event column) the context is stored under. */
export const TRACEPARENT = "traceparent";

let tracer: Tracer | undefined;
let contextManager: AsyncLocalStorageContextManager | undefined;
const propagator = new W3CTraceContextPropagator();

/** Starts tracing in this process with the given exporter (tests: an InMemorySpanExporter). */
export function startTracing(options: {
  exporter: SpanExporter;
  serviceName?: string;
  /** Export each span as it ends instead of in batches (tests). */
  immediate?: boolean;
}): Tracing {
  if (!contextManager) {
    // Spans follow the work across awaits only with a context manager; one per process.
    contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
  }
  const processor = options.immediate
    ? new SimpleSpanProcessor(options.exporter)
    : new BatchSpanProcessor(options.exporter);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": options.serviceName ?? "stageline" }),
    spanProcessors: [processor],
  });
  const mine = provider.getTracer("stageline");
  tracer = mine;
  return {
    flush: () => provider.forceFlush(),
    async shutdown() {
      if (tracer === mine) tracer = undefined;
      await provider.shutdown();
    },
  };
}

/** Tracing as configured: OTLP over HTTP when an endpoint is set, else nothing. */
export function startConfiguredTracing(config: TracingConfig, logger: Logger): Tracing | undefined {
  if (!config.otlpEndpoint) return undefined;
  const url = `${config.otlpEndpoint.replace(/\/+$/, "")}/v1/traces`;
  // The origin only: a URL may carry credentials.
  logger.info({ collector: new URL(url).origin, serviceName: config.serviceName }, "tracing on (OTLP)");
  return startTracing({ exporter: new OTLPTraceExporter({ url }), serviceName: config.serviceName });
}

export const tracingEnabled = (): boolean => tracer !== undefined;

/** The stored trace context of a command (for its events' metadata); undefined when none. */
export function traceparentOf(command: { header: Record<string, unknown> }): string | undefined {
  const value = command.header[TRACEPARENT];
  return typeof value === "string" ? value : undefined;
}

/** The context a W3C traceparent names (the root context when absent or malformed). */
function contextOf(traceparent: string | undefined | null): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, { [TRACEPARENT]: traceparent }, defaultTextMapGetter);
}

function traceparentFor(span: Span): string | undefined {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier[TRACEPARENT];
}

const commandAttributes = (command: TracedCommand) => ({
  "stageline.command_id": command.commandId,
  "stageline.tenant_id": command.tenantId,
  "stageline.aggregate": command.aggregateName,
  "stageline.aggregate_id": command.aggregateId,
  "stageline.command_type": command.type,
});

async function inSpan<T>(span: Span, parent: Context, work: () => Promise<T>): Promise<T> {
  try {
    return await context.with(trace.setSpan(parent, span), work);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * The gateway's hook: sends the command inside its span (a child of whatever span is active,
 * e.g. the caller's `traceparent` or a saga's processor span) and records the span's context in
 * the command's header before it is stored.
 */
export function traceCommand<T extends { duplicate: boolean }>(
  command: TracedCommand,
  send: () => Promise<T>,
): Promise<T> {
  if (!tracer) return send();
  const span = tracer.startSpan(`command ${command.aggregateName}.${command.type}`, {
    kind: SpanKind.PRODUCER,
    attributes: commandAttributes(command),
  });
  const traceparent = traceparentFor(span);
  if (traceparent) command.header = { ...command.header, [TRACEPARENT]: traceparent };
  return inSpan(span, context.active(), async () => {
    const sent = await send();
    span.setAttribute("stageline.duplicate", sent.duplicate);
    return sent;
  });
}

/**
 * The command worker's hook: processes a stored command (asynchronous, or taken up after its
 * request or its server died) in a span that joins the command's stored trace.
 */
export function traceWorker<T>(command: TracedCommand, recovered: boolean, work: () => Promise<T>): Promise<T> {
  if (!tracer) return work();
  const parent = contextOf(traceparentOf(command));
  const span = tracer.startSpan(
    `process ${command.aggregateName}.${command.type}`,
    { kind: SpanKind.CONSUMER, attributes: { ...commandAttributes(command), "stageline.recovered": recovered } },
    parent,
  );
  return inSpan(span, parent, work);
}

/** The spans of the batch in hand, by command ID (for the saga adapter's per-event context). */
const batchSpans = new AsyncLocalStorage<Map<string, Span>>();

/**
 * The runner's hook: applies a batch inside one span per command whose events the processor
 * reads, each a child of the context stored on those events. A failed batch ends them with an
 * error (a retry opens new ones).
 */
export function traceBatch<T>(
  step: { id: string; kind: string; eventTypes: ReadonlySet<string> },
  events: readonly RecordedEvent[],
  work: () => Promise<T>,
): Promise<T> {
  if (!tracer) return work();
  const byCommand = new Map<string, RecordedEvent[]>();
  for (const event of events) {
    if (!step.eventTypes.has(event.type)) continue;
    const list = byCommand.get(event.commandId);
    if (list) list.push(event);
    else byCommand.set(event.commandId, [event]);
  }
  if (byCommand.size === 0) return work();
  const spans = new Map<string, Span>();
  for (const [commandId, mine] of byCommand) {
    const first = mine[0]!;
    spans.set(
      commandId,
      tracer.startSpan(
        `${step.kind.toLowerCase()} ${step.id}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            "stageline.processor": step.id,
            "stageline.processor_kind": step.kind,
            "stageline.command_id": commandId,
            "stageline.tenant_id": first.tenantId,
            "stageline.events": mine.length,
            "stageline.first_position": String(first.position),
            "stageline.batch_events": events.length,
          },
        },
        contextOf(first.traceparent),
      ),
    );
  }
  const endAll = (error?: unknown) => {
    for (const span of spans.values()) {
      if (error !== undefined) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      }
      span.end();
    }
  };
  return batchSpans.run(spans, work).then(
    (result) => {
      endAll();
      return result;
    },
    (error: unknown) => {
      endAll(error);
      throw error;
    },
  );
}

/**
 * The saga adapter's hook: reacts to one event with that event's processor span active, so the
 * commands the saga sends are children of it (and their whole subtree joins the root's trace).
 */
export function traceReaction<T>(event: RecordedEvent, work: () => Promise<T>): Promise<T> {
  const span = tracer ? batchSpans.getStore()?.get(event.commandId) : undefined;
  if (!span) return work();
  return context.with(trace.setSpan(context.active(), span), work);
}

/**
 * Runs an incoming HTTP request's work under the caller's W3C trace context (its `traceparent`
 * header), so a client's own trace continues into the command's spans.
 */
export function withIncomingTrace<T>(headers: Record<string, string | string[] | undefined>, work: () => T): T {
  if (!tracer) return work();
  const value = headers[TRACEPARENT];
  if (typeof value !== "string") return work();
  return context.with(contextOf(value), work);
}
