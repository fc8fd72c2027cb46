/**
 * One resource for the whole suite (a `describe`): opened in beforeAll, closed in afterAll, and
 * handed out at once as a stand-in that forwards to it, so that a suite needs one line instead
 * of the same six (a `let`, two hooks) and its tests use the resource as if it were a plain value.
 */
import { afterAll, beforeAll } from "vitest";

export function perSuite<T extends object>(open: () => Promise<T>, close: (resource: T) => Promise<void>): T {
  let resource: T | undefined;
  beforeAll(async () => {
    resource = await open();
  });
  afterAll(async () => {
    if (resource) await close(resource);
  });
  const current = (property: PropertyKey): T => {
    if (!resource) throw new Error(`Used before the suite's beforeAll opened it (reading ${String(property)})`);
    return resource;
  };
  // Every way of reading an object forwards, spreading (`{ ...db }`) included.
  return new Proxy({} as T, {
    get(_target, property) {
      const value = Reflect.get(current(property), property, resource);
      return typeof value === "function" ? value.bind(resource) : value;
    },
    has: (_target, property) => property in current(property),
    ownKeys: () => Reflect.ownKeys(current("ownKeys")),
    getOwnPropertyDescriptor(_target, property) {
      const descriptor = Reflect.getOwnPropertyDescriptor(current(property), property);
      return descriptor && { ...descriptor, configurable: true };
    },
  });
}
