-- Where each processor started the first time ('beginning' or 'now'), recorded with its
-- checkpoint. Rows that exist already were all started at the beginning of the log.
-- AlterTable
ALTER TABLE "processor_checkpoints" ADD COLUMN     "start_from" TEXT NOT NULL DEFAULT 'beginning';

-- The tenants a processor holds after one of their events was poison (RUNNER_ON_POISON=stop):
-- their later events are parked in dead_letters while every other tenant goes on.
-- AlterTable
ALTER TABLE "processor_checkpoints" ADD COLUMN     "held_tenants" TEXT[] DEFAULT ARRAY[]::TEXT[];
