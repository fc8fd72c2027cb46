-- Tracing (issue 16): each event keeps the W3C trace context of the command that wrote it, so a
-- runner's span joins the command's trace, in any process and after a restart. NULL while
-- tracing is off.
-- AlterTable
ALTER TABLE "events" ADD COLUMN "traceparent" TEXT;
