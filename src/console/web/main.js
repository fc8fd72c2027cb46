// The console's shell: signing in (a credential and a tenant, like any client), the tabs, and
// the commands view that puts the send form, the live list and the selected chain side by side.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { gql, loadSession, saveSession } from "./api.js";
import { ChainView, CommandList } from "./commands.js";
import { History } from "./history.js";
import { html } from "./html.js";
import { Processors } from "./processors.js";
import { SendForm } from "./send-form.js";

const CATALOG = `query Catalog { consoleCatalog {
  commands { mutation description inputType fields } aggregates processors { id kind contextName processorName } } }`;

function SignIn({ session, onChange }) {
  const [token, setToken] = useState(session.token ?? "");
  const [tenant, setTenant] = useState(session.tenant ?? "");
  return html`<form class="signin" onSubmit=${(e) => {
    e.preventDefault();
    onChange({ token: token.trim(), tenant: tenant.trim() });
  }}>
    <input type="password" placeholder="token or API key (when AUTH_MODE is on)" value=${token} onInput=${(e) => setToken(e.target.value)} aria-label="token" />
    <input placeholder="tenant (default)" value=${tenant} onInput=${(e) => setTenant(e.target.value)} aria-label="tenant" />
    <button type="submit">Use</button>
  </form>`;
}

function App() {
  const [session, setSession] = useState(loadSession());
  const [tab, setTab] = useState("commands");
  const [catalog, setCatalog] = useState(undefined);
  const [error, setError] = useState(undefined);
  const [selected, setSelected] = useState(undefined);
  const [watchRequest, setWatchRequest] = useState(undefined);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    gql(CATALOG).then((d) => {
      setCatalog(d.consoleCatalog);
      setError(undefined);
    }, setError);
  }, [generation]);

  const signIn = (next) => {
    saveSession(next);
    setSession(next);
    setSelected(undefined);
    setGeneration(generation + 1);
  };

  return html`<header>
      <h1>Stageline <span class="muted">console</span></h1>
      <nav>
        ${["commands", "processors", "history"].map(
          (t) =>
            html`<button class=${tab === t ? "active" : ""} onClick=${() => setTab(t)} data-tab=${t}>${t}</button>`,
        )}
        <a href="/graphql" target="_blank" rel="noopener">GraphiQL</a>
      </nav>
      <${SignIn} session=${session} onChange=${signIn} />
    </header>
    ${error && html`<p class="failure banner" data-testid="error"><code class="code">${error.code}</code> ${error.message}</p>`}
    <main key=${generation}>
      ${
        tab === "commands" &&
        html`<div class="commands-view">
        <div class="left">
          <${SendForm} catalog=${catalog} onSending=${setWatchRequest} onSent=${setSelected} />
          <${CommandList} selected=${selected} onSelect=${setSelected} watchRequest=${watchRequest} onError=${setError} />
        </div>
        <${ChainView} commandId=${selected} onError=${setError} />
      </div>`
      }
      ${tab === "processors" && html`<${Processors} />`}
      ${tab === "history" && html`<${History} catalog=${catalog} />`}
    </main>`;
}

const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);
