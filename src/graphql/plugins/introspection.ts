/**
 * Introspection off (GRAPHQL_INTROSPECTION=false, the default in production): a validation rule
 * at the envelop level, so it holds on HTTP, SSE and graphql-ws alike (Yoga's own switch is
 * HTTP-only). `__typename` stays allowed; `__schema` and `__type` fail GRAPHQL_VALIDATION_FAILED.
 */
import { NoSchemaIntrospectionCustomRule } from "graphql";
import type { Plugin } from "graphql-yoga";

export function useIntrospectionSwitch(enabled: boolean): Plugin {
  return {
    onValidate({ addValidationRule }) {
      if (!enabled) addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
