// Processors (admin): each one's checkpoint and lag, its held tenants, and the dead letters it
// parked, each retried (handed to the processor again) or discarded.
import { useEffect, useState } from "preact/hooks";
import { gql } from "./api.js";
import { html } from "./html.js";

const STATUS = `query Processors {
  processors { id kind position eventsBehind secondsBehind updatedAt deadLetters heldTenants }
  deadLetters { processor position eventType error attempts parkedAt } }`;
const RETRY = `mutation Retry($p: String!, $at: BigInt!) { retryDeadLetter(processor: $p, position: $at) }`;
const DISCARD = `mutation Discard($p: String!, $at: BigInt!) { discardDeadLetter(processor: $p, position: $at) }`;

export function Processors() {
  const [state, setState] = useState({ processors: [], deadLetters: [] });
  const [error, setError] = useState(undefined);
  const [note, setNote] = useState(undefined);
  /** The dead letter being retried or discarded: its buttons wait for the answer. */
  const [busy, setBusy] = useState(undefined);

  const load = () =>
    gql(STATUS).then(
      (data) => {
        setState(data);
        setError(undefined);
      },
      (e) => setError(e),
    );
  useEffect(() => {
    load();
    const timer = setInterval(load, 3000);
    return () => clearInterval(timer);
  }, []);

  const act = async (mutation, d, verb) => {
    setBusy(`${d.processor}@${d.position}`);
    try {
      await gql(mutation, { p: d.processor, at: d.position });
      setNote({ ok: true, text: `${verb} ${d.processor} at ${d.position}` });
    } catch (e) {
      setNote({ ok: false, code: e.code, text: `${d.processor} at ${d.position}: ${e.message}` });
    }
    setBusy(undefined);
    await load();
  };

  if (error) {
    return html`<section class="panel"><p class="failure"><code class="code">${error.code}</code> ${error.message}</p>
      ${error.code === "FORBIDDEN" && html`<p class="muted">Processors need the admin role (AUTH_ADMIN_ROLE).</p>`}</section>`;
  }
  return html`<section class="panel" data-testid="processors">
    <h2>Processors</h2>
    <table>
      <thead><tr><th>processor</th><th>kind</th><th>position</th><th>behind</th><th>seconds</th><th>dead</th><th>held tenants</th><th>updated</th></tr></thead>
      <tbody>
        ${state.processors.map(
          (p) => html`<tr data-processor=${p.id} class=${p.deadLetters > 0 || p.heldTenants.length > 0 ? "failed" : ""}>
            <td>${p.id}</td><td>${p.kind.toLowerCase()}</td><td>${p.position}</td><td>${p.eventsBehind}</td>
            <td>${p.secondsBehind.toFixed(1)}</td><td>${p.deadLetters}</td><td>${p.heldTenants.join(", ")}</td>
            <td class="muted">${p.updatedAt ? new Date(p.updatedAt).toLocaleTimeString() : "never"}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    <h2>Dead letters</h2>
    ${
      note &&
      html`<p class=${note.ok ? "muted" : "failure"} data-testid="dead-letter-note">
        ${note.code && html`<code class="code">${note.code}</code> `}${note.text}</p>`
    }
    ${state.deadLetters.length === 0 && html`<p class="muted">None.</p>`}
    <ul class="dead-letters">
      ${state.deadLetters.map(
        (d) => html`<li key=${`${d.processor}@${d.position}`} data-dead-letter=${`${d.processor}@${d.position}`}>
          <strong>${d.processor}</strong> at ${d.position} <span class="muted">${d.eventType}, ${d.attempts} attempts</span>
          <button disabled=${busy !== undefined} onClick=${() => act(RETRY, d, "Retried")}>Retry</button>
          <button disabled=${busy !== undefined} onClick=${() => act(DISCARD, d, "Discarded")}>Discard</button>
          <pre class="error">${d.error}</pre>
        </li>`,
      )}
    </ul>
  </section>`;
}
