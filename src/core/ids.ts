import { v7 } from "uuid";

/** Time-ordered IDs (UUIDv7): commands and generated aggregate IDs sort by creation. */
export const newId = (): string => v7();
