/**
 * The banking context's read side in GraphQL: the read models through the Pothos Prisma
 * plugin (with read-your-writes), and the strongly consistent aggregate state. One GraphQL type
 * per file; this file puts them together.
 */
import type { StagelineBuilder } from "../../../graphql/builder.ts";
import { accountStateType } from "./account-state.ts";
import { accountViewType } from "./account-view.ts";
import { transferViewType } from "./transfer-view.ts";

export function bankingSchema(builder: StagelineBuilder): void {
  accountViewType(builder);
  transferViewType(builder);
  accountStateType(builder);
}
