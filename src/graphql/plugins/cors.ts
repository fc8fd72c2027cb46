/**
 * CORS from an allow-list (CORS_ORIGINS, none by default). Yoga's default echoes any Origin
 * with credentials allowed, which lets any web page a user opens read this API's answers; here
 * an Origin not on the list gets no CORS headers at all, so the browser keeps the answer from it.
 */
import type { YogaServerOptions } from "graphql-yoga";

type CorsOption = YogaServerOptions<Record<string, unknown>, Record<string, unknown>>["cors"];

export function corsFromAllowList(origins: readonly string[]): CorsOption {
  const allowed = new Set(origins);
  return (request: Request) => {
    const origin = request.headers.get("origin");
    if (!origin || !allowed.has(origin)) return false;
    return {
      origin: [origin],
      credentials: true,
      methods: ["GET", "POST"],
      allowedHeaders: ["content-type", "authorization", "x-tenant-id", "accept"],
    };
  };
}
