// Prisma CLI configuration. The app never needs the CLI at run time: it applies the SQL
// migrations itself (src/store/migrations.ts). The URL is only read by CLI commands that talk
// to a database (`prisma migrate status` on a machine that has the schema engine).
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/stageline" },
});
