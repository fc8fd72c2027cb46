-- ordering read models: customers, products, order summaries and lines, customer statistics.

-- CreateTable
CREATE TABLE "ordering_customers" (
    "key" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "ordering_customers_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "ordering_products" (
    "key" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "price" INTEGER NOT NULL,
    "version" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "ordering_products_pkey" PRIMARY KEY ("key")
);

-- CreateTable
-- search_vector is generated from the order ID, the customer's name and the product names, with
-- every run of non-alphanumerics turned into a space, so an ID like 0193…-7e8f-… splits the same
-- way in the document as in a query. The 'simple' configuration lowercases and does not stem:
-- names are not English prose. Core PostgreSQL only (no extension), so PGlite has it too.
CREATE TABLE "order_summaries" (
    "key" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "customer_id" TEXT NOT NULL,
    "customer_name" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "item_count" INTEGER NOT NULL,
    "line_count" INTEGER NOT NULL,
    "total" INTEGER NOT NULL,
    "product_names" TEXT NOT NULL DEFAULT '',
    "search_vector" tsvector GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig,
            regexp_replace("id" || ' ' || "customer_name" || ' ' || "product_names", '[^[:alnum:]]+', ' ', 'g'))
    ) STORED,
    "created_position" BIGINT NOT NULL,
    "version" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,
    "submitted_at" TIMESTAMPTZ(6),
    "confirmed_at" TIMESTAMPTZ(6),
    "shipped_at" TIMESTAMPTZ(6),
    "delivered_at" TIMESTAMPTZ(6),
    "cancelled_at" TIMESTAMPTZ(6),
    "cancel_reason" TEXT,
    "tracking_number" TEXT,

    CONSTRAINT "order_summaries_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "order_lines" (
    "key" TEXT NOT NULL,
    "order_key" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "product_id" TEXT NOT NULL,
    "product_name" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "unit_price" INTEGER NOT NULL,
    "subtotal" INTEGER NOT NULL,
    "line_no" INTEGER NOT NULL,

    CONSTRAINT "order_lines_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "customer_order_stats" (
    "key" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "customer_id" TEXT NOT NULL,
    "customer_name" TEXT NOT NULL,
    "orders_placed" INTEGER NOT NULL DEFAULT 0,
    "orders_submitted" INTEGER NOT NULL DEFAULT 0,
    "orders_delivered" INTEGER NOT NULL DEFAULT 0,
    "orders_cancelled" INTEGER NOT NULL DEFAULT 0,
    "total_spent" BIGINT NOT NULL DEFAULT 0,
    "first_order_at" TIMESTAMPTZ(6),
    "last_order_at" TIMESTAMPTZ(6),
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "customer_order_stats_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "ordering_customers_tenant_idx" ON "ordering_customers"("tenant_id", "key");

-- CreateIndex
CREATE INDEX "ordering_products_tenant_idx" ON "ordering_products"("tenant_id", "key");

-- CreateIndex
CREATE UNIQUE INDEX "order_summaries_created_position_key" ON "order_summaries"("created_position");

-- CreateIndex
CREATE INDEX "order_summaries_customer_idx" ON "order_summaries"("tenant_id", "customer_id", "created_position");

-- CreateIndex
CREATE INDEX "order_summaries_search_idx" ON "order_summaries" USING GIN ("search_vector");

-- CreateIndex
CREATE INDEX "order_lines_order_idx" ON "order_lines"("order_key", "line_no");

-- CreateIndex
CREATE INDEX "order_lines_product_idx" ON "order_lines"("tenant_id", "product_id");

-- AddForeignKey
ALTER TABLE "order_lines" ADD CONSTRAINT "order_lines_order_key_fkey" FOREIGN KEY ("order_key") REFERENCES "order_summaries"("key") ON DELETE CASCADE ON UPDATE CASCADE;
