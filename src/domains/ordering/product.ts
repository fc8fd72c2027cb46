/**
 * The Product aggregate: something an order line can hold. Its price is the catalogue price; an
 * order line keeps the unit price it was ordered at, so repricing never changes placed orders.
 */
import { z } from "zod";
import { defineAggregate } from "../../core/aggregate.ts";
import type { EventOf } from "../../core/events.ts";

export const productEvents = {
  ProductRegistered: z.object({ name: z.string(), price: z.number().int() }),
  ProductRenamed: z.object({ name: z.string() }),
  ProductRepriced: z.object({ price: z.number().int() }),
};

export type ProductEvent = EventOf<typeof productEvents>;

export interface ProductState {
  registered: boolean;
  name: string;
  price: number;
}

const name = z.string().trim().min(1).max(200).describe("The product's name as customers see it");
const price = z.number().int().min(0).max(1_000_000).describe("Catalogue price in cents; 0 to 1,000,000");

export const Product = defineAggregate({
  name: "Product",
  events: productEvents,
  commands: {
    RegisterProduct: {
      roles: ["catalog"],
      mode: "create",
      description: "Adds a product to the catalogue. Its ID is generated unless command.aggregateId is given.",
      input: z.object({ name, price }),
    },
    RenameProduct: {
      roles: ["catalog"],
      description: "Changes the product's name; every order line's copy of it follows. The same name changes nothing.",
      input: z.object({ name }),
    },
    RepriceProduct: {
      roles: ["catalog"],
      description: "Changes the catalogue price. Orders keep the unit price they were placed at.",
      input: z.object({ price }),
    },
  },
  initialState: (): ProductState => ({ registered: false, name: "", price: 0 }),

  decide(command, state): ProductEvent[] {
    switch (command.type) {
      case "RegisterProduct":
        return [{ type: "ProductRegistered", data: { name: command.data.name, price: command.data.price } }];
      case "RenameProduct":
        return command.data.name === state.name ? [] : [{ type: "ProductRenamed", data: { name: command.data.name } }];
      case "RepriceProduct":
        return command.data.price === state.price
          ? []
          : [{ type: "ProductRepriced", data: { price: command.data.price } }];
    }
  },

  evolve(state: ProductState, event: ProductEvent): ProductState {
    switch (event.type) {
      case "ProductRegistered":
        return { registered: true, name: event.data.name, price: event.data.price };
      case "ProductRenamed":
        return { ...state, name: event.data.name };
      case "ProductRepriced":
        return { ...state, price: event.data.price };
    }
  },
});
