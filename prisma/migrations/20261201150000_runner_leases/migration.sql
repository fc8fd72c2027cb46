-- Scale-out (issue 14): each processor runs in one process at a time, under a lease row
-- (owner, epoch, expiry on the database's clock); the processes alive, so that each takes no
-- more than its share of the leases. Expiries are judged with clock_timestamp() on the server,
-- never on a process's clock.
-- CreateTable
CREATE TABLE "runner_leases" (
    "processor_name" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "epoch" BIGINT NOT NULL DEFAULT 1,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,
    "acquired_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "runner_leases_pkey" PRIMARY KEY ("processor_name")
);

-- CreateTable
CREATE TABLE "runner_processes" (
    "owner" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "runner_processes_pkey" PRIMARY KEY ("owner")
);
