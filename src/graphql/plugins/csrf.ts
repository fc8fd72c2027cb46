/**
 * CSRF prevention: a POST must carry a JSON or GraphQL body. A browser sends a cross-site form
 * (urlencoded, multipart, text/plain) without a CORS preflight, with the user's cookies; Yoga
 * would run a mutation from it. A JSON body needs a preflight, which the CORS allow-list refuses
 * for other origins. Refused with 415 UNSUPPORTED_MEDIA_TYPE before anything is parsed.
 */
import type { Plugin } from "graphql-yoga";
import { GraphQLCode } from "../errors.ts";

const ACCEPTED = new Set(["application/json", "application/graphql", "application/graphql+json"]);

export function useJsonOnlyPosts(): Plugin {
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (request.method !== "POST") return;
      const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
      if (ACCEPTED.has(type)) return;
      endResponse(
        new fetchAPI.Response(
          JSON.stringify({
            errors: [
              {
                message: "POST bodies must be application/json (or application/graphql)",
                extensions: { code: GraphQLCode.UNSUPPORTED_MEDIA_TYPE },
              },
            ],
          }),
          { status: 415, headers: { "content-type": "application/json" } },
        ),
      );
    },
  };
}
