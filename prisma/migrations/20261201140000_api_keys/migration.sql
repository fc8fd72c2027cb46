-- API keys (issue 13): a client credential created and revoked from the CLI. Only a SHA-256 of
-- the key's secret is stored; the key itself is printed once, when created.
-- CreateTable
CREATE TABLE "api_keys" (
    "id" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "label" TEXT,
    "tenants" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "roles" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(6),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);
