/**
 * Who may do what, as scopes a GraphQL field declares (Pothos scope-auth; see
 * src/graphql/builder.ts): each command says which roles may send it, each read model and
 * query which roles may read it, operational fields need `admin`. This file turns a verified
 * credential into those scopes; it knows nothing of GraphQL. Without authentication
 * (AUTH_MODE=none, loopback only) every scope is granted, as every call was before.
 */
import type { Principal } from "./principal.ts";

/** The scopes a field may require (scope-auth's `AuthScopes`): name → parameter type. */
export interface AuthScopes {
  /** Operational: rebuilds, dead letters, processor status (AUTH_ADMIN_ROLE). */
  admin: boolean;
  /** Any credential admitted to the tenant (every call that got this far). */
  member: boolean;
  /** One of these roles (a command's `roles`, a read model's readers). */
  anyRole: readonly string[];
  /** The results of this command ID: its tenant, and with AUTH_RESULTS_SENDER_ONLY its sender only. */
  resultsOf: string;
}

/** What each scope is for one caller: a boolean, or a check of the field's parameter. */
export interface ScopeLoaders {
  admin: boolean;
  member: boolean;
  anyRole: (roles: readonly string[]) => boolean;
  resultsOf: (commandId: string) => Promise<boolean>;
}

export interface ScopeSettings {
  adminRole: string;
  resultsSenderOnly: boolean;
}

/**
 * The caller's scopes. `senderOf` gives the subject recorded with a command of the caller's
 * tenant (undefined when it has none or the command is not the tenant's: the resolver then
 * answers COMMAND_NOT_FOUND as for anyone).
 */
export function scopesFor(
  principal: Principal | undefined,
  settings: ScopeSettings,
  senderOf: (commandId: string) => Promise<string | undefined | null>,
): ScopeLoaders {
  if (!principal) {
    return { admin: true, member: true, anyRole: () => true, resultsOf: async () => true };
  }
  return {
    admin: principal.roles.includes(settings.adminRole),
    member: true,
    anyRole: (roles) => roles.some((role) => principal.roles.includes(role)),
    resultsOf: async (commandId) => {
      if (!settings.resultsSenderOnly) return true;
      const sender = await senderOf(commandId).catch(() => undefined);
      return sender === undefined || sender === principal.subject;
    },
  };
}

/** The subject recorded in a command's header (`header.subject`), if any. */
export const subjectOf = (header: Record<string, unknown> | undefined): string | undefined =>
  typeof header?.subject === "string" ? header.subject : undefined;
