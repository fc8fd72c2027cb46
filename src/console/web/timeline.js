// One command's stage timeline: SENT → PROCESSED → the four branches, each with the time since
// the stage before it, each processor's own signal, and failures with their codes.
import { html } from "./html.js";
import { at, BRANCHES, journey, since } from "./stages.js";

const LABEL = { ok: "reached", failed: "failed", waiting: "waiting…", skipped: "not reached" };

function Failure({ result }) {
  if (!result || result.succeeded) return null;
  return html`<div class="failure">
    <code class="code" data-testid="error-code">${result.errorCode}</code>
    <span class="muted">${result.errorMsg}</span>
  </div>`;
}

function Signal({ signal, from }) {
  const name = signal.function.processorName;
  return html`<li class=${`signal ${signal.succeeded ? "ok" : "failed"}`} data-processor=${name}>
    <span class="dot"></span>
    <span>${name}</span>
    <span class="muted">${signal.function.functionKind.toLowerCase().replace("_", " ")}</span>
    <time>${since(at(signal), from)}</time>
    <${Failure} result=${signal} />
  </li>`;
}

function StageRow({ stage, entry, from }) {
  return html`<div class=${`stage ${entry.state}`} data-stage=${stage} data-state=${entry.state}>
    <div class="stage-head">
      <span class="dot"></span>
      <strong>${stage}</strong>
      <span class="muted">${LABEL[entry.state]}</span>
      <time>${since(at(entry.result), from)}</time>
    </div>
    <${Failure} result=${entry.result} />
    ${entry.signals.length > 0 && html`<ul class="signals">${entry.signals.map((s) => html`<${Signal} signal=${s} from=${from} />`)}</ul>`}
  </div>`;
}

export function Timeline({ results }) {
  const { byStage } = journey(results);
  const sent = at(byStage.SENT.result);
  const processed = at(byStage.PROCESSED.result);
  return html`<div class="timeline">
    <div class="trunk">
      <${StageRow} stage="SENT" entry=${byStage.SENT} from=${sent} />
      <span class="arrow">→</span>
      <${StageRow} stage="PROCESSED" entry=${byStage.PROCESSED} from=${sent} />
    </div>
    <div class="branches">
      ${BRANCHES.map((stage) => html`<${StageRow} key=${stage} stage=${stage} entry=${byStage[stage]} from=${processed} />`)}
    </div>
  </div>`;
}

/** Six small dots, one per stage: a command's journey at a glance. */
export function Pills({ results }) {
  const { byStage } = journey(results);
  return html`<span class="pills">${Object.entries(byStage).map(
    ([stage, entry]) => html`<span class=${`pill ${entry.state}`} title=${`${stage}: ${LABEL[entry.state]}`}></span>`,
  )}</span>`;
}
