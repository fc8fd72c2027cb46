-- Scale-out (issue 14): one command queue shared by every process. A process claims only the
-- oldest PENDING command of an aggregate (claimed_by, claimed_until on the database's clock), so
-- no two commands of one aggregate are processed at once and an expired claim is taken again
-- still at the head (FIFO per aggregate across a crash). A command that throws is held back
-- (claimed_until) with its failures counted: it blocks only its own aggregate.
-- AlterTable
ALTER TABLE "commands" ADD COLUMN     "claimed_by" TEXT,
ADD COLUMN     "claimed_until" TIMESTAMPTZ(6),
ADD COLUMN     "failures" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "last_error" TEXT;

-- Is there an older PENDING command of this aggregate? One index probe per candidate of a claim.
CREATE INDEX "commands_pending_aggregate_idx" ON "commands"("tenant_id", "aggregate_name", "aggregate_id", "created_at", "command_id")
 WHERE "status" = 'PENDING';
