/**
 * The Customer aggregate: someone who places orders. Orders copy the customer's name into
 * their read models, so a rename is an event every one of those copies follows.
 */
import { z } from "zod";
import { defineAggregate } from "../../core/aggregate.ts";
import type { EventOf } from "../../core/events.ts";

export const customerEvents = {
  CustomerRegistered: z.object({ name: z.string(), email: z.string() }),
  CustomerRenamed: z.object({ name: z.string() }),
};

export type CustomerEvent = EventOf<typeof customerEvents>;

export interface CustomerState {
  registered: boolean;
  name: string;
  email: string;
}

const name = z.string().trim().min(1).max(200).describe("The customer's full name");

export const Customer = defineAggregate({
  name: "Customer",
  events: customerEvents,
  commands: {
    RegisterCustomer: {
      roles: ["clerk"],
      mode: "create",
      description: "Registers a customer. Its ID is generated unless command.aggregateId is given.",
      input: z.object({
        name,
        email: z.email().max(320).optional().describe("Contact e-mail address"),
      }),
    },
    RenameCustomer: {
      roles: ["clerk"],
      description: "Changes the customer's name; every order's copy of it follows. The same name changes nothing.",
      input: z.object({ name }),
    },
  },
  initialState: (): CustomerState => ({ registered: false, name: "", email: "" }),

  decide(command, state): CustomerEvent[] {
    switch (command.type) {
      case "RegisterCustomer":
        return [{ type: "CustomerRegistered", data: { name: command.data.name, email: command.data.email ?? "" } }];
      case "RenameCustomer":
        // Renaming to the current name is not a change: no event, nothing for the read models to do.
        return command.data.name === state.name ? [] : [{ type: "CustomerRenamed", data: { name: command.data.name } }];
    }
  },

  evolve(state: CustomerState, event: CustomerEvent): CustomerState {
    switch (event.type) {
      case "CustomerRegistered":
        return { registered: true, name: event.data.name, email: event.data.email };
      case "CustomerRenamed":
        return { ...state, name: event.data.name };
    }
  },
});
