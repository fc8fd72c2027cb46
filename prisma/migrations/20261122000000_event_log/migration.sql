-- The event log, snapshots, processor checkpoints, commands (idempotency + async queue),
-- command results and dead letters. Kept in the shape `prisma migrate diff` produces for
-- prisma/schema.prisma, so that `prisma migrate status` agrees with what the app applied.

-- CreateTable
CREATE TABLE "events" (
    "position" BIGSERIAL NOT NULL,
    "transaction_id" xid8 NOT NULL DEFAULT pg_current_xact_id(),
    "tenant_id" TEXT NOT NULL,
    "aggregate_name" TEXT NOT NULL,
    "aggregate_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "schema_version" INTEGER NOT NULL DEFAULT 1,
    "body" JSONB NOT NULL,
    "command_id" UUID NOT NULL,
    "request_id" TEXT NOT NULL,
    "correlation_id" UUID NOT NULL,
    "causation_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "events_pkey" PRIMARY KEY ("position")
);

-- CreateTable
CREATE TABLE "snapshots" (
    "tenant_id" TEXT NOT NULL,
    "aggregate_name" TEXT NOT NULL,
    "aggregate_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "state_version" INTEGER NOT NULL,
    "state" JSONB NOT NULL,
    "position" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "snapshots_pkey" PRIMARY KEY ("tenant_id","aggregate_name","aggregate_id")
);

-- CreateTable
CREATE TABLE "processor_checkpoints" (
    "processor_name" TEXT NOT NULL,
    "transaction_id" BIGINT NOT NULL DEFAULT 0,
    "position" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processor_checkpoints_pkey" PRIMARY KEY ("processor_name")
);

-- CreateTable
CREATE TABLE "commands" (
    "command_id" UUID NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "request_id" TEXT NOT NULL,
    "payload_hash" TEXT NOT NULL,
    "context_name" TEXT NOT NULL,
    "aggregate_name" TEXT NOT NULL,
    "aggregate_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "body" JSONB NOT NULL,
    "header" JSONB NOT NULL DEFAULT '{}',
    "expected_version" INTEGER,
    "correlation_id" UUID NOT NULL,
    "causation_id" TEXT NOT NULL,
    "wait_command_id" UUID NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'PENDING',
    "is_async" BOOLEAN NOT NULL DEFAULT false,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processed_at" TIMESTAMPTZ(6),
    "expires_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "commands_pkey" PRIMARY KEY ("command_id")
);

-- CreateTable
CREATE TABLE "command_results" (
    "id" BIGSERIAL NOT NULL,
    "command_id" UUID NOT NULL,
    "wait_command_id" UUID NOT NULL,
    "stage" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "context_name" TEXT NOT NULL,
    "aggregate_name" TEXT NOT NULL,
    "aggregate_id" TEXT NOT NULL,
    "aggregate_version" INTEGER,
    "request_id" TEXT NOT NULL,
    "function_kind" TEXT NOT NULL,
    "function_context" TEXT NOT NULL,
    "processor_name" TEXT NOT NULL,
    "function_name" TEXT NOT NULL,
    "error_code" TEXT NOT NULL,
    "error_msg" TEXT,
    "binding_errors" JSONB NOT NULL DEFAULT '[]',
    "result" JSONB,
    "positions" BIGINT[],
    "succeeded" BOOLEAN NOT NULL,
    "signal_time" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "command_results_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dead_letters" (
    "id" BIGSERIAL NOT NULL,
    "processor_name" TEXT NOT NULL,
    "position" BIGINT NOT NULL,
    "transaction_id" BIGINT NOT NULL,
    "event_type" TEXT NOT NULL,
    "error" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dead_letters_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "events_command_id_idx" ON "events"("command_id");

-- CreateIndex
CREATE INDEX "events_transaction_position_idx" ON "events"("transaction_id", "position");

-- CreateIndex
CREATE UNIQUE INDEX "events_stream_version_key" ON "events"("tenant_id", "aggregate_name", "aggregate_id", "version");

-- CreateIndex
CREATE INDEX "commands_status_created_idx" ON "commands"("status", "created_at");

-- CreateIndex
CREATE INDEX "commands_expires_at_idx" ON "commands"("expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "commands_tenant_request_key" ON "commands"("tenant_id", "request_id");

-- CreateIndex
CREATE UNIQUE INDEX "command_results_once_key" ON "command_results"("command_id", "stage", "scope", "function_context", "processor_name");

-- CreateIndex
CREATE INDEX "command_results_command_idx" ON "command_results"("command_id", "id");

-- CreateIndex
CREATE INDEX "command_results_wait_command_idx" ON "command_results"("wait_command_id", "id");

-- CreateIndex
CREATE INDEX "command_results_expires_at_idx" ON "command_results"("expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "dead_letters_processor_position_key" ON "dead_letters"("processor_name", "position");
