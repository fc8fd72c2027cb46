// An aggregate's history: its events with where they came from, and its state at any version
// (the time-travel query, replayed from the log).
import { useState } from "preact/hooks";
import { gql } from "./api.js";
import { html } from "./html.js";

const HISTORY = `query History($aggregate: String!, $id: ID!, $after: String) {
  aggregateHistory(aggregate: $aggregate, id: $id, first: 50, after: $after) {
    edges { node { version type data commandId createdAt command { type sentBy } } }
    pageInfo { hasNextPage endCursor } } }`;
const STATE = `query State($aggregate: String!, $id: ID!, $v: Int) {
  aggregateState(aggregate: $aggregate, id: $id, atVersion: $v) { state version at } }`;

export function History({ catalog }) {
  const aggregates = catalog?.aggregates ?? [];
  const [aggregate, setAggregate] = useState("");
  const [id, setId] = useState("");
  const [events, setEvents] = useState([]);
  const [state, setState] = useState(undefined);
  const [error, setError] = useState(undefined);
  /** The aggregate last shown (events and state belong to it, whatever the inputs say now). */
  const [shown, setShown] = useState(undefined);
  const name = aggregate || aggregates[0] || "";

  const showState = (of, version) =>
    gql(STATE, { aggregate: of.aggregate, id: of.id, v: version }).then((d) => setState(d.aggregateState), setError);

  const load = async (event) => {
    event.preventDefault();
    setError(undefined);
    setState(undefined);
    const of = { aggregate: name, id: id.trim() };
    try {
      const all = [];
      let after = null;
      for (let page = 0; page < 20; page++) {
        const d = await gql(HISTORY, { ...of, after });
        all.push(...d.aggregateHistory.edges.map((e) => e.node));
        if (!d.aggregateHistory.pageInfo.hasNextPage) break;
        after = d.aggregateHistory.pageInfo.endCursor;
      }
      setEvents(all);
      setShown(of);
      if (all.length > 0) await showState(of, all.at(-1).version);
    } catch (e) {
      setEvents([]);
      setShown(undefined);
      setError(e);
    }
  };

  return html`<section class="panel history" data-testid="history">
    <h2>Aggregate history</h2>
    <form class="row" onSubmit=${load}>
      <select value=${name} onChange=${(e) => setAggregate(e.target.value)} aria-label="aggregate">
        ${aggregates.map((a) => html`<option value=${a}>${a}</option>`)}
      </select>
      <input placeholder="aggregate ID" value=${id} onInput=${(e) => setId(e.target.value)} aria-label="aggregate ID" />
      <button type="submit" disabled=${!name || !id.trim()}>Show</button>
    </form>
    ${error && html`<p class="failure" data-testid="history-error"><code class="code">${error.code}</code> ${error.message}</p>`}
    ${shown && events.length === 0 && html`<p class="muted">${shown.aggregate} ${shown.id} has no events.</p>`}
    <div class="columns">
      <ol class="events" data-testid="events">
        ${events.map(
          (
            e,
          ) => html`<li key=${e.version} data-version=${e.version} data-type=${e.type} class=${state?.version === e.version ? "selected" : ""}>
            <button type="button" class="event" onClick=${() => showState(shown, e.version)} title="Show the state after this event">
              <strong>v${e.version}</strong> ${e.type}
              <span class="muted">${new Date(e.createdAt).toLocaleTimeString()}${e.command ? ` · ${e.command.type}` : ""}${e.command?.sentBy ? ` by ${e.command.sentBy}` : ""}</span>
            </button>
            <pre>${JSON.stringify(e.data)}</pre>
          </li>`,
        )}
      </ol>
      ${
        state &&
        html`<div class="state" data-testid="state" data-version=${state.version}>
        <h3>State at version ${state.version}</h3>
        <pre>${JSON.stringify(state.state, null, 2)}</pre>
      </div>`
      }
    </div>
  </section>`;
}
