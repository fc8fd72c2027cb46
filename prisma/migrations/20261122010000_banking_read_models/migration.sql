-- banking read models: AccountView and TransferView.

-- CreateTable
CREATE TABLE "account_views" (
    "key" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "balance" INTEGER NOT NULL,
    "locked" INTEGER NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "account_views_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "transfer_views" (
    "key" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "source_account_id" TEXT NOT NULL,
    "target_account_id" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "transfer_views_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "account_views_tenant_status_idx" ON "account_views"("tenant_id", "status", "key");
