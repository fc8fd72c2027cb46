/**
 * The bounded contexts this Stageline serves. Adding one: create src/domains/<name>/ and list
 * it here — the engine, the runners and the GraphQL wiring pick it up from this list.
 */
import type { BoundedContext } from "../core/context.ts";
import { banking } from "./banking/index.ts";
import { inventory } from "./inventory/index.ts";
import { ordering } from "./ordering/index.ts";

export const contexts: readonly BoundedContext[] = [banking, ordering, inventory];
