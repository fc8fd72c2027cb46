/**
 * Serves the console at /console: its own files (src/console/web) and the few ES modules it
 * imports from node_modules (Preact, its hooks, htm, graphql-ws's client), by a fixed list
 * read once at start-up, so no request can name any other file. Nothing comes from a CDN: an
 * import map in the page points the bare module names here, and a Content-Security-Policy
 * keeps every script, style and connection on this server.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const CONSOLE_PATH = "/console";

const WEB = fileURLToPath(new URL("./web/", import.meta.url));
const MODULES = fileURLToPath(new URL("../../node_modules/", import.meta.url));

const IMPORTS = {
  preact: `${CONSOLE_PATH}/vendor/preact.js`,
  "preact/hooks": `${CONSOLE_PATH}/vendor/preact-hooks.js`,
  htm: `${CONSOLE_PATH}/vendor/htm.js`,
  "graphql-ws": `${CONSOLE_PATH}/vendor/graphql-ws/client.js`,
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
};

interface Asset {
  body: Buffer;
  type: string;
}

function load(): { assets: Map<string, Asset>; csp: string } {
  const assets = new Map<string, Asset>();
  const add = (url: string, file: string) => {
    const ext = file.slice(file.lastIndexOf("."));
    assets.set(url, { body: readFileSync(file), type: TYPES[ext] ?? "application/octet-stream" });
  };
  for (const name of readdirSync(WEB)) {
    if (name !== "index.html" && /^[\w-]+\.(js|css|png)$/.test(name)) add(`${CONSOLE_PATH}/${name}`, join(WEB, name));
  }
  add(IMPORTS.preact, join(MODULES, "preact/dist/preact.module.js"));
  add(IMPORTS["preact/hooks"], join(MODULES, "preact/hooks/dist/hooks.module.js"));
  add(IMPORTS.htm, join(MODULES, "htm/dist/htm.module.js"));
  // graphql-ws's client and the shared chunk it imports (a hashed name that changes with versions).
  const wsDist = join(MODULES, "graphql-ws/dist");
  for (const name of readdirSync(wsDist)) {
    if (name === "client.js" || /^common-[\w-]+\.js$/.test(name)) {
      add(`${CONSOLE_PATH}/vendor/graphql-ws/${name}`, join(wsDist, name));
    }
  }
  const importMap = JSON.stringify({ imports: IMPORTS });
  const html = readFileSync(join(WEB, "index.html"), "utf8").replace(`{ "imports": {} }`, importMap);
  assets.set(CONSOLE_PATH, { body: Buffer.from(html), type: TYPES[".html"]! });
  // The inline import map is the page's only inline script: allowed by its hash, nothing else is.
  const hash = createHash("sha256").update(importMap).digest("base64");
  const csp = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  return { assets, csp };
}

/** Answers GET/HEAD under /console before anything else sees the request; the rest goes on as before. */
export function serveConsole(httpServer: Server): void {
  const { assets, csp } = load();
  const handlers = httpServer.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
  httpServer.removeAllListeners("request");
  httpServer.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?", 1)[0]!;
    if (path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`)) {
      answer(req, res, assets.get(path === `${CONSOLE_PATH}/` ? CONSOLE_PATH : path), csp);
      return;
    }
    for (const handler of handlers) handler.call(httpServer, req, res);
  });
}

function answer(req: IncomingMessage, res: ServerResponse, asset: Asset | undefined, csp: string): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" });
    res.end("Method not allowed\n");
    req.resume();
    return;
  }
  if (!asset) {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("Not found\n");
    return;
  }
  res.writeHead(200, {
    "content-type": asset.type,
    "content-length": asset.body.length,
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
    "content-security-policy": csp,
    "referrer-policy": "no-referrer",
  });
  res.end(req.method === "HEAD" ? undefined : asset.body);
}
