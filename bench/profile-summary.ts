/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): where the sampled time went, by self
 * time per function, by inclusive time per function, and by self time per package / src folder.
 * `tsx bench/profile-summary.ts <file.cpuprofile>` prints it; the bench's --profile mode uses it.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  byBucket: { name: string; ms: number; share: number }[];
  bySelf: { name: string; ms: number; share: number }[];
  byInclusive: { name: string; ms: number; share: number }[];
}

/** Which package or source folder a frame belongs to. */
function bucket(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith("node:")) return "node (internals)";
  const src = url.indexOf("/src/");
  if (src >= 0)
    return url
      .slice(src + 1)
      .split("/")
      .slice(0, 2)
      .join("/");
  const bench = url.indexOf("/bench/");
  if (bench >= 0) return "bench";
  return url;
}

const label = (n: ProfileNode) => {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url ? url.replace(/^.*\/(node_modules|src)\//, "$1/") : "";
  return `${functionName || "(anonymous)"}${file ? ` ${file}:${lineNumber + 1}` : ""}`;
};

export function summarise(path: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  let total = 0;
  for (const us of selfUs.values()) total += us;

  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
  const buckets = new Map<string, number>();
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    add(buckets, bucket(node.callFrame.url, node.callFrame.functionName), us);
    add(self, label(node), us);
    // Inclusive: every distinct function on the stack gets the sample once (recursion counted once).
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = label(byId.get(at)!);
      if (seen.has(name)) continue;
      seen.add(name);
      add(inclusive, name, us);
    }
  }
  const rank = (map: Map<string, number>, n: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / total }));
  return {
    totalMs: total / 1000,
    byBucket: rank(buckets, 30),
    bySelf: rank(self, top),
    byInclusive: rank(inclusive, top + 15).filter((r) => r.name !== "(root)"),
  };
}

export function formatSummary(summary: ProfileSummary): string {
  const rows = (list: ProfileSummary["bySelf"]) =>
    list
      .map((r) => `| ${(r.share * 100).toFixed(1)}% | ${r.ms.toFixed(0)} | ${r.name.replace(/\|/g, "\\|")} |`)
      .join("\n");
  const table = (title: string, list: ProfileSummary["bySelf"]) =>
    `### ${title}\n\n| share | ms | where |\n| ---: | ---: | --- |\n${rows(list)}\n`;
  return [
    `Sampled ${summary.totalMs.toFixed(0)} ms of the server's main thread.\n`,
    table("Self time by package / source folder", summary.byBucket),
    table("Self time by function", summary.bySelf),
    table("Inclusive time by function", summary.byInclusive),
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) throw new Error("usage: tsx bench/profile-summary.ts <file.cpuprofile>");
  console.log(formatSummary(summarise(file)));
}
