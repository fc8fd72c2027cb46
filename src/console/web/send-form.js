// The send form, generated from the schema's command mutations (Query.consoleCatalog, so it
// works with introspection off): one field per input field, the command options, and what to
// wait for. The answer shows as the mutation returns it; the command's timeline fills beside it.
import { useState } from "preact/hooks";
import { gql } from "./api.js";
import { html } from "./html.js";
import { STAGES } from "./stages.js";

const ANSWER = `commandId aggregateId aggregateVersion stage succeeded errorCode errorMsg
  bindingErrors { field code message } chainFailures { commandId aggregateId errorCode }`;

const newRequestId = () =>
  `console-${globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`}`;

function Field({ field, value, onChange }) {
  const id = `field-${field.name}`;
  const label = html`<label for=${id}>${field.name}${field.required ? " *" : ""} <span class="muted">${field.list ? `[${field.type}]` : field.type}</span></label>`;
  let input;
  if (field.kind === "INPUT_OBJECT" || field.list || field.type === "JSON") {
    input = html`<textarea id=${id} name=${field.name} rows="3" placeholder="JSON" value=${value} onInput=${(e) => onChange(e.target.value)}></textarea>`;
  } else if (field.kind === "ENUM") {
    input = html`<select id=${id} name=${field.name} value=${value} onChange=${(e) => onChange(e.target.value)}>
      <option value="">—</option>
      ${field.enumValues.map((v) => html`<option value=${v}>${v}</option>`)}
    </select>`;
  } else if (field.type === "Boolean") {
    input = html`<input id=${id} name=${field.name} type="checkbox" checked=${value === true} onChange=${(e) => onChange(e.target.checked)} />`;
  } else {
    const numeric = field.type === "Int" || field.type === "Float";
    input = html`<input id=${id} name=${field.name} type=${numeric ? "number" : "text"} step=${field.type === "Float" ? "any" : "1"} value=${value} onInput=${(e) => onChange(e.target.value)} />`;
  }
  return html`<div class="field" title=${field.description ?? ""}>${label}${input}</div>`;
}

/** The form's values as the input type wants them; empty optional fields are left out. */
function toInput(fields, values) {
  const input = {};
  for (const field of fields) {
    const raw = values[field.name];
    if (raw === undefined || raw === "" || (field.type === "Boolean" && raw === false && !field.required)) continue;
    if (field.kind === "INPUT_OBJECT" || field.list || field.type === "JSON") input[field.name] = JSON.parse(raw);
    else if (field.type === "Int") input[field.name] = Number.parseInt(raw, 10);
    else if (field.type === "Float") input[field.name] = Number.parseFloat(raw);
    else input[field.name] = raw;
  }
  return input;
}

function Answer({ answer }) {
  if (!answer) return null;
  if (answer.error) {
    const bindings = answer.error.extensions?.bindingErrors ?? [];
    return html`<div class="answer failed" data-testid="answer" data-succeeded="false">
      <code class="code" data-testid="answer-code">${answer.error.code}</code> ${answer.error.message}
      ${bindings.length > 0 && html`<ul>${bindings.map((b) => html`<li><code>${b.field}</code> ${b.code}: ${b.message}</li>`)}</ul>`}
    </div>`;
  }
  const r = answer.result;
  return html`<div class=${`answer ${r.succeeded ? "ok" : "failed"}`} data-testid="answer" data-succeeded=${String(r.succeeded)}>
    <strong>${r.stage}</strong> <code class="code" data-testid="answer-code">${r.errorCode}</code>
    <span class="muted">${r.aggregateId} v${r.aggregateVersion ?? "–"} · ${r.commandId}</span>
    ${r.errorMsg && html`<div class="muted">${r.errorMsg}</div>`}
    ${
      r.chainFailures.length > 0 &&
      html`<ul>${r.chainFailures.map((f) => html`<li>${f.aggregateId}: <code class="code">${f.errorCode}</code></li>`)}</ul>`
    }
  </div>`;
}

export function SendForm({ catalog, onSending, onSent }) {
  const commands = catalog?.commands ?? [];
  const [mutation, setMutation] = useState("");
  const [values, setValues] = useState({});
  const [options, setOptions] = useState({ aggregateId: "", requestId: "", expectedVersion: "", async: false });
  const [wait, setWait] = useState({ stage: "PROCESSED", processor: "", chain: false, timeoutMs: "" });
  const [answer, setAnswer] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const form = commands.find((c) => c.mutation === mutation) ?? commands[0];
  if (!form) return html`<section class="panel"><p class="muted">Loading the commands…</p></section>`;

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setAnswer(undefined);
    const requestId = options.requestId || newRequestId();
    onSending(requestId);
    try {
      const processor = catalog.processors.find((p) => p.id === wait.processor);
      const variables = {
        command: {
          requestId,
          async: options.async || undefined,
          aggregateId: options.aggregateId || undefined,
          expectedVersion: options.expectedVersion === "" ? undefined : Number(options.expectedVersion),
          waitFor: {
            stage: wait.stage === "ALL" ? undefined : wait.stage,
            chain: wait.chain || undefined,
            timeoutMs: wait.timeoutMs === "" ? undefined : Number(wait.timeoutMs),
            processor: processor
              ? { contextName: processor.contextName, processorName: processor.processorName }
              : undefined,
          },
        },
      };
      let query;
      if (form.inputType) {
        variables.input = toInput(form.fields, values);
        query = `mutation Send($input: ${form.inputType}!, $command: CommandOptions) {
          ${form.mutation}(input: $input, command: $command) { ${ANSWER} } }`;
      } else {
        query = `mutation Send($command: CommandOptions) { ${form.mutation}(command: $command) { ${ANSWER} } }`;
      }
      const data = await gql(query, variables);
      const result = data[form.mutation];
      setAnswer({ result });
      onSent(result.commandId);
    } catch (error) {
      setAnswer({ error: error instanceof SyntaxError ? { code: "BAD_JSON", message: error.message } : error });
    } finally {
      setBusy(false);
    }
  };

  return html`<section class="panel send">
    <h2>Send a command</h2>
    <form onSubmit=${submit} data-testid="send-form">
      <div class="field">
        <label for="mutation">command</label>
        <select id="mutation" name="mutation" value=${form.mutation} onChange=${(e) => {
          setMutation(e.target.value);
          setValues({});
          setAnswer(undefined);
        }}>
          ${commands.map((c) => html`<option value=${c.mutation}>${c.mutation}</option>`)}
        </select>
      </div>
      <p class="muted small">${form.description}</p>
      <fieldset>
        <legend>input</legend>
        ${form.fields.length === 0 && html`<p class="muted small">No input.</p>`}
        ${form.fields.map(
          (f) => html`<${Field} key=${`${form.mutation}.${f.name}`} field=${f} value=${values[f.name] ?? ""}
            onChange=${(v) => setValues({ ...values, [f.name]: v })} />`,
        )}
      </fieldset>
      <fieldset>
        <legend>command</legend>
        <div class="field"><label for="opt-aggregateId">aggregateId</label>
          <input id="opt-aggregateId" value=${options.aggregateId} onInput=${(e) => setOptions({ ...options, aggregateId: e.target.value })} /></div>
        <div class="field"><label for="opt-requestId">requestId <span class="muted">(blank: generated)</span></label>
          <input id="opt-requestId" value=${options.requestId} onInput=${(e) => setOptions({ ...options, requestId: e.target.value })} /></div>
        <div class="field"><label for="opt-expectedVersion">expectedVersion</label>
          <input id="opt-expectedVersion" type="number" value=${options.expectedVersion} onInput=${(e) => setOptions({ ...options, expectedVersion: e.target.value })} /></div>
        <div class="field inline"><input id="opt-async" type="checkbox" checked=${options.async} onChange=${(e) => setOptions({ ...options, async: e.target.checked })} />
          <label for="opt-async">async (a worker processes it)</label></div>
      </fieldset>
      <fieldset>
        <legend>wait for</legend>
        <div class="field"><label for="wait-stage">stage</label>
          <select id="wait-stage" value=${wait.stage} onChange=${(e) => setWait({ ...wait, stage: e.target.value })}>
            ${STAGES.map((s) => html`<option value=${s}>${s}</option>`)}
            <option value="ALL">every stage</option>
          </select></div>
        <div class="field"><label for="wait-processor">processor</label>
          <select id="wait-processor" value=${wait.processor} onChange=${(e) => setWait({ ...wait, processor: e.target.value })}>
            <option value="">any</option>
            ${catalog.processors.map((p) => html`<option value=${p.id}>${p.id} (${p.kind.toLowerCase()})</option>`)}
          </select></div>
        <div class="field inline"><input id="wait-chain" type="checkbox" checked=${wait.chain} onChange=${(e) => setWait({ ...wait, chain: e.target.checked })} />
          <label for="wait-chain">the whole chain (every command sagas send)</label></div>
        <div class="field"><label for="wait-timeout">timeoutMs</label>
          <input id="wait-timeout" type="number" value=${wait.timeoutMs} onInput=${(e) => setWait({ ...wait, timeoutMs: e.target.value })} /></div>
      </fieldset>
      <button id="send" type="submit" disabled=${busy}>${busy ? "Waiting…" : "Send"}</button>
    </form>
    <${Answer} answer=${answer} />
  </section>`;
}
