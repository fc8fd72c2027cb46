// The tenant's commands, live: the list (newest first, new ones arriving over the commandsSent
// subscription, each one's dots kept current by the page's one results subscription
// (results-hub.js), re-read only when the socket (re)connects) and the selected command's chain
// as a tree, each command with its timeline, filled live from the commandResults subscription on
// the chain's root and, for what comes after that stream ended, from the same results stream.
import { useEffect, useRef, useState } from "preact/hooks";
import { gql, onConnected, subscribe } from "./api.js";
import { html } from "./html.js";
import { FOLLOWED, onRecentResult } from "./results-hub.js";
import { COMMAND_FIELDS, journey, mergeResults, RESULT_FIELDS } from "./stages.js";
import { Pills, Timeline } from "./timeline.js";

const RECENT = `query Recent { recentCommands(first: ${FOLLOWED}) { ${COMMAND_FIELDS} } }`;
const SENT = `subscription Sent { commandsSent { ${COMMAND_FIELDS} } }`;
const CHAIN = `query Chain($id: ID!) { commandChain(commandId: $id) { ${COMMAND_FIELDS} } }`;
const CHAIN_RESULTS = `subscription ChainResults($id: ID!) {
  commandResults(commandId: $id, until: { chain: true }) { ${RESULT_FIELDS} } }`;

/** How long results may wait for their command to arrive on the feed before it is fetched. */
const ORPHAN_MS = 1500;
/** Commands with results waiting for them, at most (the oldest dropped). */
const ORPHANS_MAX = 200;

const short = (id) => id.slice(-8);
const clock = (iso) => new Date(iso).toLocaleTimeString();

/** Keeps the newest version of each command, newest first. */
function merge(known, more) {
  const byId = new Map(known.map((c) => [c.commandId, c]));
  for (const c of more) {
    const old = byId.get(c.commandId);
    byId.set(c.commandId, old ? { ...c, results: mergeResults(old.results, c.results) } : c);
  }
  return [...byId.values()].sort((a, b) => (a.commandId < b.commandId ? 1 : -1)).slice(0, 200);
}

export function CommandList({ selected, onSelect, watchRequest, onError }) {
  const [commands, setCommands] = useState([]);
  const current = useRef([]);
  const watch = useRef(watchRequest);
  watch.current = watchRequest;

  useEffect(() => {
    let live = true;
    /** Results streamed before their command reached the list, by command ID. */
    const orphans = new Map();
    const put = (next) => {
      current.current = next;
      setCommands(next);
    };
    /** Merges commands, with any results that came before them. */
    const add = (more) => {
      const adopted = more.map((c) => {
        const early = orphans.get(c.commandId);
        if (!early) return c;
        orphans.delete(c.commandId);
        return { ...c, results: mergeResults(c.results, early.results) };
      });
      put(merge(current.current, adopted));
    };
    const fetchOrphan = (commandId) => {
      if (!live || !orphans.has(commandId)) return;
      // Sent while the feed was (re)connecting, so the feed did not carry it: its chain has it.
      gql(CHAIN, { id: commandId }).then(
        (data) => live && add(data.commandChain.filter((c) => c.commandId === commandId)),
        (error) => live && onError(error),
      );
    };
    const onResult = (result) => {
      const owner = current.current.find((c) => c.commandId === result.commandId);
      if (owner) {
        put(current.current.map((c) => (c === owner ? { ...c, results: mergeResults(c.results, [result]) } : c)));
        return;
      }
      const early = orphans.get(result.commandId);
      if (early) early.results.push(result);
      else {
        orphans.set(result.commandId, { results: [result] });
        if (orphans.size > ORPHANS_MAX) orphans.delete(orphans.keys().next().value);
        setTimeout(() => fetchOrphan(result.commandId), ORPHAN_MS);
      }
    };
    // The one re-read: at each (re)connect of the socket, for what was sent or reached meanwhile.
    const resync = () =>
      gql(RECENT).then(
        (data) => live && add(data.recentCommands),
        (error) => live && onError(error),
      );
    const offConnected = onConnected(resync);
    const stopSent = subscribe(
      SENT,
      {},
      {
        next: ({ commandsSent }) => {
          add([commandsSent]);
          if (watch.current && commandsSent.requestId === watch.current) onSelect(commandsSent.commandId);
        },
        error: onError,
      },
    );
    const stopResults = onRecentResult(onResult, onError, resync);
    return () => {
      live = false;
      offConnected();
      stopSent();
      stopResults();
    };
  }, []);

  return html`<section class="panel list">
    <h2>Commands <span class="muted live">● live</span></h2>
    ${commands.length === 0 && html`<p class="muted">No commands yet. Send one above.</p>`}
    <ul class="commands" data-testid="command-list">
      ${commands.map(
        (c) => html`<li
          key=${c.commandId}
          class=${`command ${c.commandId === selected ? "selected" : ""} ${c.parentCommandId ? "child" : ""}`}
          data-command-id=${c.commandId}
          data-type=${c.type}
          onClick=${() => onSelect(c.commandId)}
        >
          <${Pills} results=${c.results} />
          <strong>${c.type}</strong>
          <span class="muted">${c.aggregateName} ${c.aggregateId}</span>
          ${journey(c.results).failure && html`<code class="code" title=${journey(c.results).failure.errorCode}>${journey(c.results).failure.errorCode}</code>`}
          <time>${clock(c.createdAt)}</time>
        </li>`,
      )}
    </ul>
  </section>`;
}

function Node({ command, children, byParent }) {
  const { settled, failure } = journey(command.results);
  return html`<li
    class="node"
    data-command-id=${command.commandId}
    data-type=${command.type}
    data-settled=${String(settled)}
    data-failed=${String(!!failure)}
  >
    <div class="node-head">
      <strong>${command.type}</strong>
      <span class="muted">${command.aggregateName} ${command.aggregateId}</span>
      <${Pills} results=${command.results} />
      <code class="muted" title=${command.commandId}>${short(command.commandId)}</code>
      ${command.parentCommandId && html`<span class="muted">sent by a saga</span>`}
    </div>
    <${Timeline} results=${command.results} />
    ${
      children.length > 0 &&
      html`<ul class="tree">
      ${children.map((c) => html`<${Node} key=${c.commandId} command=${c} children=${byParent.get(c.commandId) ?? []} byParent=${byParent} />`)}
    </ul>`
    }
  </li>`;
}

export function ChainView({ commandId, onError }) {
  const [commands, setCommands] = useState([]);
  const current = useRef([]);
  const put = (next) => {
    current.current = next;
    setCommands(next);
  };

  useEffect(() => {
    if (!commandId) return undefined;
    let live = true;
    put([]);
    const load = () =>
      gql(CHAIN, { id: commandId }).then(
        (data) => live && put(merge(current.current, data.commandChain)),
        (error) => live && onError(error),
      );
    let stop = () => {};
    load().then(() => {
      if (!live) return;
      const root = current.current.find((c) => c.commandId === commandId)?.correlationId ?? commandId;
      stop = subscribe(
        CHAIN_RESULTS,
        { id: root },
        {
          next: ({ commandResults: r }) => onResult(r),
          error: onError,
          complete: () => setTimeout(() => live && load(), 300),
        },
      );
    });
    const onResult = (r) => {
      const owner = current.current.find((c) => c.commandId === r.commandId);
      if (owner) put(current.current.map((c) => (c === owner ? { ...c, results: mergeResults(c.results, [r]) } : c)));
      // A command a saga just sent: fetch it with its place in the tree.
      else if (current.current.some((c) => c.commandId === r.correlationId)) load();
    };
    // Signals that arrive after the chain's stream ended (a slow processor's own) come by the
    // page's results stream.
    const stopRecent = onRecentResult(onResult, onError, load);
    return () => {
      live = false;
      stop();
      stopRecent();
    };
  }, [commandId]);

  if (!commandId)
    return html`<section class="panel detail"><p class="muted">Pick a command to see its journey.</p></section>`;
  const ids = new Set(commands.map((c) => c.commandId));
  const byParent = new Map();
  const roots = [];
  for (const c of [...commands].reverse()) {
    if (c.parentCommandId && ids.has(c.parentCommandId)) {
      byParent.set(c.parentCommandId, [...(byParent.get(c.parentCommandId) ?? []), c]);
    } else roots.push(c);
  }
  return html`<section class="panel detail" data-testid="chain">
    <h2>Chain <span class="muted">${commands.length} command${commands.length === 1 ? "" : "s"}</span></h2>
    <ul class="tree root">
      ${roots.map((c) => html`<${Node} key=${c.commandId} command=${c} children=${byParent.get(c.commandId) ?? []} byParent=${byParent} />`)}
    </ul>
  </section>`;
}
