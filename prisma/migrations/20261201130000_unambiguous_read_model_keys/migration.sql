-- Unambiguous read-model keys (issue 11, items 8 and 10), upgrading rows already stored.
--
-- 1. Row keys made of several IDs were the IDs joined with ':', so a line of product `x:y` on
--    order `o` and a line of product `y` on order `o:x` had one key. Keys are now built by
--    rowKey() in src/core/row-key.ts: every part but the last has '\' and ':' escaped. Every
--    stored key is recomputed from its own columns (unchanged for IDs without ':' or '\').
--    Lines two events already merged under one key cannot be told apart here; where an order
--    ID ever held a ':', replay OrderingViews from the log (empty its tables, delete its
--    checkpoint) to get them right.
-- 2. transfer_views was keyed by tenant + transfer ID, but an account refuses only an ID it has
--    pending itself: another account's transfer with the same ID (or this account's next one)
--    went to the dead letters. Each transfer is now keyed by the log position of its
--    TransferPrepared event, and at most one row per (tenant, source account, ID) is PREPARED.

-- The escaping, in SQL: replace(replace(part, '\', '\\'), ':', '\:').

-- order_lines.order_key follows order_summaries.key through the foreign key's ON UPDATE
-- CASCADE. The primary keys are dropped while keys change, so that no row's new key can meet
-- another row's old one half-way through an UPDATE.
ALTER TABLE "order_lines" DROP CONSTRAINT "order_lines_order_key_fkey";
ALTER TABLE "order_lines" DROP CONSTRAINT "order_lines_pkey";
ALTER TABLE "order_summaries" DROP CONSTRAINT "order_summaries_pkey";

UPDATE "order_lines" l
   SET "order_key" = replace(replace(s."tenant_id", '\', '\\'), ':', '\:') || ':' || s."id",
       "key" = replace(replace(s."tenant_id", '\', '\\'), ':', '\:') || ':'
            || replace(replace(s."id", '\', '\\'), ':', '\:') || ':' || l."product_id"
  FROM "order_summaries" s
 WHERE s."key" = l."order_key";

UPDATE "order_summaries"
   SET "key" = replace(replace("tenant_id", '\', '\\'), ':', '\:') || ':' || "id";

ALTER TABLE "order_summaries" ADD CONSTRAINT "order_summaries_pkey" PRIMARY KEY ("key");
ALTER TABLE "order_lines" ADD CONSTRAINT "order_lines_pkey" PRIMARY KEY ("key");
ALTER TABLE "order_lines" ADD CONSTRAINT "order_lines_order_key_fkey" FOREIGN KEY ("order_key") REFERENCES "order_summaries"("key") ON DELETE CASCADE ON UPDATE CASCADE;

-- Two-part keys (tenant, ID): only a tenant holding ':' or '\' changes.
UPDATE "account_views" SET "key" = replace(replace("tenant_id", '\', '\\'), ':', '\:') || ':' || "id"
 WHERE "key" <> replace(replace("tenant_id", '\', '\\'), ':', '\:') || ':' || "id";
UPDATE "ordering_customers" SET "key" = replace(replace("tenant_id", '\', '\\'), ':', '\:') || ':' || "id"
 WHERE "key" <> replace(replace("tenant_id", '\', '\\'), ':', '\:') || ':' || "id";
UPDATE "ordering_products" SET "key" = replace(replace("tenant_id", '\', '\\'), ':', '\:') || ':' || "id"
 WHERE "key" <> replace(replace("tenant_id", '\', '\\'), ':', '\:') || ':' || "id";
UPDATE "customer_order_stats" SET "key" = replace(replace("tenant_id", '\', '\\'), ':', '\:') || ':' || "customer_id"
 WHERE "key" <> replace(replace("tenant_id", '\', '\\'), ':', '\:') || ':' || "customer_id";

-- transfer_views: the position of the TransferPrepared event that created each row (the first
-- one with its tenant, source account and ID: later ones went to the dead letters).
ALTER TABLE "transfer_views" ADD COLUMN "prepared_position" BIGINT;
UPDATE "transfer_views" t
   SET "prepared_position" = (
         SELECT min(e."position") FROM "events" e
          WHERE e."tenant_id" = t."tenant_id" AND e."aggregate_name" = 'Account'
            AND e."aggregate_id" = t."source_account_id" AND e."type" = 'TransferPrepared'
            AND e."body"->>'transferId' = t."id");
-- A row whose event cannot be found (none should be) keeps a unique, negative stand-in.
UPDATE "transfer_views" t
   SET "prepared_position" = -n.rank
  FROM (SELECT "key", row_number() OVER (ORDER BY "key") AS rank
          FROM "transfer_views" WHERE "prepared_position" IS NULL) n
 WHERE t."key" = n."key";
ALTER TABLE "transfer_views" ALTER COLUMN "prepared_position" SET NOT NULL;
ALTER TABLE "transfer_views" DROP CONSTRAINT "transfer_views_pkey";
ALTER TABLE "transfer_views" DROP COLUMN "key";
ALTER TABLE "transfer_views" ADD CONSTRAINT "transfer_views_pkey" PRIMARY KEY ("prepared_position");

-- CreateIndex
CREATE INDEX "transfer_views_tenant_id_idx" ON "transfer_views"("tenant_id", "id", "prepared_position");

-- The domain's own rule: an account has at most one pending transfer with a given ID.
CREATE UNIQUE INDEX "transfer_views_pending_key" ON "transfer_views"("tenant_id", "source_account_id", "id")
 WHERE "status" = 'PREPARED';
