/** OrderStatus: the lifecycle of an order, as the decider names it. */
import type { StagelineBuilder } from "../../../graphql/builder.ts";
import { ORDER_STATUSES } from "../order-status.ts";

export const orderStatusEnum = (builder: StagelineBuilder) =>
  builder.enumType("OrderStatus", { values: ORDER_STATUSES });

export type OrderStatusRef = ReturnType<typeof orderStatusEnum>;
