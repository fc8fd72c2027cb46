/**
 * Realistic-looking sample data for `npm run seed`: names, products and the life of each order,
 * drawn from a seeded generator so a run can be repeated exactly.
 */

/** mulberry32: a tiny, fast, seedable PRNG (good enough for sample data, not for secrets). */
export function randomSource(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Random = () => number;
export const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
export const between = (random: Random, min: number, max: number): number =>
  min + Math.floor(random() * (max - min + 1));

const FIRST = [
  "Ada",
  "Alan",
  "Grace",
  "Linus",
  "Margaret",
  "Edsger",
  "Barbara",
  "Donald",
  "Frances",
  "Ken",
  "Radia",
  "Tim",
  "Hedy",
  "John",
  "Katherine",
  "Dennis",
  "Anita",
  "Guido",
  "Sophie",
  "Niklaus",
];
const LAST = [
  "Lovelace",
  "Turing",
  "Hopper",
  "Torvalds",
  "Hamilton",
  "Dijkstra",
  "Liskov",
  "Knuth",
  "Allen",
  "Thompson",
  "Perlman",
  "Berners-Lee",
  "Lamarr",
  "McCarthy",
  "Johnson",
  "Ritchie",
  "Borg",
  "van Rossum",
  "Wilson",
  "Wirth",
];
const ADJECTIVES = [
  "Brass",
  "Oak",
  "Walnut",
  "Linen",
  "Copper",
  "Ceramic",
  "Woollen",
  "Steel",
  "Glass",
  "Leather",
  "Bamboo",
  "Marble",
];
const NOUNS = [
  "Lamp",
  "Desk",
  "Chair",
  "Notebook",
  "Kettle",
  "Mug",
  "Blanket",
  "Shelf",
  "Clock",
  "Vase",
  "Pen",
  "Backpack",
  "Tray",
  "Mirror",
  "Stool",
];

export const customerName = (random: Random): string => `${pick(random, FIRST)} ${pick(random, LAST)}`;
export const productName = (random: Random, n: number): string =>
  `${pick(random, ADJECTIVES)} ${pick(random, NOUNS)} ${n + 1}`;
/** Catalogue price in cents: 2.00 to 400.00, ending in .99 or .00. */
export const productPrice = (random: Random): number => between(random, 2, 400) * 100 - (random() < 0.6 ? 1 : 0);

/** How far an order gets after creation: the steps to send, in order. */
export function orderJourney(random: Random): string[] {
  const r = random();
  if (r < 0.08) return []; // still a draft
  if (r < 0.12) return ["CancelOrder"]; // abandoned basket
  if (r < 0.2) return ["SubmitOrder"];
  if (r < 0.25) return ["SubmitOrder", "CancelOrder"];
  if (r < 0.35) return ["SubmitOrder", "ConfirmOrder"];
  if (r < 0.45) return ["SubmitOrder", "ConfirmOrder", "ShipOrder"];
  return ["SubmitOrder", "ConfirmOrder", "ShipOrder", "DeliverOrder"];
}
