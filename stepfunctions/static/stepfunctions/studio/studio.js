/* Workflow Studio: the definition in Ace, checked by the server as it changes (diagnostics at
   their lines, the diagram redrawn), a state's panel opened from the diagram, inserting and
   deleting states. The JSON is the one source: the panel and the diagram are drawn from it. */
"use strict";
(function () {
  const root = document.getElementById("studio");
  if (!root) return;
  const config = JSON.parse(document.getElementById("studio-config").textContent);
  const textarea = document.getElementById("studio-definition");
  const diagram = document.getElementById("studio-diagram");
  const problems = document.getElementById("studio-diagnostics");
  const stateSelect = document.getElementById("studio-state");
  const panel = document.getElementById("studio-state-form");
  const csrf = document.querySelector("#studio-form [name=csrfmiddlewaretoken]").value;
  const { el } = window.StudioPanel;
  const ctx = { config, doc: null, selected: null, tab: "config" };

  ace.config.set("useStrictCSP", true); // the pages' CSP: Ace's styles come from its css files
  ace.config.set("basePath", config.ace); // where Ace finds its modes and themes
  const holder = document.getElementById("studio-editor");
  holder.hidden = false;
  textarea.hidden = true;
  const editor = ace.edit(holder, {
    useWorker: false, mode: "ace/mode/json", tabSize: 2, useSoftTabs: true,
    showPrintMargin: false, enableKeyboardAccessibility: true,
  });
  editor.setValue(textarea.value, -1);
  editor.textInput.getElement().setAttribute("aria-label", "Definition (JSON)");
  let applying = false;

  function parsed() {
    try {
      const doc = JSON.parse(editor.getValue());
      return doc && typeof doc === "object" && doc.States && typeof doc.States === "object" ? doc : null;
    } catch (problem) {
      return null;
    }
  }

  // The line of each JSON pointer in the text (keys at their key's line).
  function pointerLines(text) {
    const lines = {};
    let i = 0;
    let line = 0;
    const space = () => { while (i < text.length && /\s/.test(text[i])) { if (text[i] === "\n") line += 1; i += 1; } };
    const string = () => {
      const start = i;
      i += 1;
      while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      i += 1;
      return JSON.parse(text.slice(start, i));
    };
    const value = (at) => {
      space();
      if (!(at in lines)) lines[at] = line;
      const c = text[i];
      if (c === "{" || c === "[") {
        const object = c === "{";
        i += 1;
        for (let n = 0; ; n += 1) {
          space();
          if (text[i] === "}" || text[i] === "]") { i += 1; return; }
          let key = String(n);
          if (object) { key = string(); space(); i += 1; }
          const inner = `${at}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
          lines[inner] = line;
          value(inner);
          space();
          if (text[i] === ",") i += 1;
          else if (i >= text.length) return;
        }
      }
      if (c === '"') string();
      else while (i < text.length && !/[,\]}\s]/.test(text[i])) i += 1;
    };
    try { value(""); } catch (problem) { /* the check names what is wrong */ }
    return lines;
  }

  function lineOf(lines, problem) {
    if (problem.line) return problem.line - 1;
    let at = problem.location || "";
    while (at && !(at in lines)) at = at.slice(0, at.lastIndexOf("/"));
    return lines[at] || 0;
  }

  function showDiagnostics(found) {
    const lines = pointerLines(editor.getValue());
    problems.replaceChildren();
    if (!found.length) problems.appendChild(el("li", { class: "studio-ok", text: "No problems: the definition can be saved." }));
    const notes = found.map((problem) => {
      const row = lineOf(lines, problem);
      const go = el("button", { type: "button", class: "studio-goto", text: `line ${row + 1}` });
      go.addEventListener("click", () => { editor.gotoLine(row + 1, 0, true); editor.focus(); });
      problems.appendChild(el("li", { class: `studio-${problem.severity.toLowerCase()}` }, [
        document.createTextNode(`${problem.severity} (`), go, document.createTextNode(`) ${problem.text}`),
      ]));
      return { row, column: 0, text: problem.text, type: problem.severity === "ERROR" ? "error" : "warning" };
    });
    editor.session.setAnnotations(notes);
    root.dataset.errors = String(found.filter((p) => p.severity === "ERROR").length);
  }

  function decorate() {
    diagram.querySelectorAll("g[data-state]").forEach((g) => {
      const name = g.getAttribute("data-state");
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      g.setAttribute("aria-label", `State ${name}: open its panel`);
      g.classList.toggle("selected", name === ctx.selected);
      g.addEventListener("click", () => select(name));
      g.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); select(name); }
      });
    });
    const svg = diagram.querySelector("svg");
    if (svg) { svg.setAttribute("role", "group"); svg.setAttribute("aria-label", "The workflow's diagram"); }
  }

  let sequence = 0;
  let timer = null;
  function check() {
    clearTimeout(timer);
    root.dataset.checking = "1";
    const mine = (sequence += 1); // only the latest check's answer is shown
    timer = setTimeout(async () => {
      const text = editor.getValue();
      textarea.value = text;
      const response = await fetch(config.check, { method: "POST", body: text, headers: { "X-CSRFToken": csrf }, credentials: "same-origin" });
      const answer = await response.json();
      if (mine !== sequence) return;
      showDiagnostics(answer.diagnostics);
      if (answer.svg) { diagram.innerHTML = answer.svg; decorate(); } // the server escapes every name
      root.dataset.checking = "0";
    }, 250);
  }

  function options(select, pairs, value) {
    select.replaceChildren(...pairs.map(([v, text]) => el("option", { value: v, text })));
    if (value !== undefined) select.value = value;
  }

  function refresh() {
    const doc = ctx.doc;
    const names = doc ? Object.keys(doc.States) : [];
    if (ctx.selected && !names.includes(ctx.selected)) ctx.selected = null;
    options(stateSelect, [["", "(choose a state)"], ...names.map((n) => [n, n])], ctx.selected || "");
    const where = document.getElementById("studio-insert-where");
    const positions = doc ? window.StudioModel.edges(doc).map(([a, b]) => [JSON.stringify(["between", a, b]), b ? `Between “${a}” and “${b}”` : `After “${a}” (its end)`]) : [];
    names.filter((n) => ["Task", "Parallel", "Map"].includes(doc.States[n].Type)).forEach((n) => positions.push([JSON.stringify(["catch", n, null]), `As a new Catch fallback of “${n}”`]));
    const kept = where.value;
    options(where, positions);
    if (positions.some(([v]) => v === kept)) where.value = kept;
    if (ctx.selected) window.StudioPanel.render(ctx, panel, ctx.selected, ctx.tab);
    else panel.replaceChildren(el("p", { text: doc ? "Choose a state in the diagram or the list to edit it." : "The definition is not valid JSON with States: fix it in the editor." }));
    diagram.querySelectorAll("g[data-state]").forEach((g) => g.classList.toggle("selected", g.getAttribute("data-state") === ctx.selected));
  }

  // A change made by the panel: applied to the document, written to the editor, checked.
  ctx.commit = (change, focusId, force = false) => {
    change();
    applying = true;
    editor.setValue(JSON.stringify(ctx.doc, null, 2), -1);
    applying = false;
    const active = document.activeElement;
    const focused = !force && active && active.id && panel.contains(active) ? active.id : focusId;
    refresh();
    check();
    const again = focused && document.getElementById(focused);
    if (again && panel.contains(again)) again.focus();
  };
  ctx.rename = (from, to) => { if (window.StudioModel.rename(ctx.doc, from, to)) ctx.selected = to; };
  ctx.remove = (name) => {
    ctx.commit(() => { window.StudioModel.remove(ctx.doc, name); ctx.selected = null; });
    stateSelect.focus();
  };
  ctx.showTab = (tab) => { ctx.tab = tab; refresh(); };

  function select(name) {
    ctx.selected = name || null;
    ctx.tab = "config";
    refresh();
    const first = document.getElementById("sf-name");
    if (first && name) first.focus();
  }

  stateSelect.addEventListener("change", () => select(stateSelect.value));
  const typeSelect = document.getElementById("studio-insert-type");
  const resourceField = document.getElementById("studio-insert-resource-field");
  options(document.getElementById("studio-insert-resource"), config.resources.map((r) => [r, r]));
  const showResource = () => { resourceField.hidden = typeSelect.value !== "Task"; };
  typeSelect.addEventListener("change", showResource);
  showResource();
  document.getElementById("studio-insert-button").addEventListener("click", () => {
    const [where, from, to] = JSON.parse(document.getElementById("studio-insert-where").value || "[]");
    if (!where || !ctx.doc) return;
    const type = typeSelect.value;
    const name = document.getElementById("studio-insert-name").value.trim();
    const resource = document.getElementById("studio-insert-resource").value;
    let made = null;
    ctx.commit(() => { made = window.StudioModel.insert(ctx.doc, { where, from, to, type, resource, name }); });
    document.getElementById("studio-insert-name").value = "";
    select(made);
  });

  editor.session.on("change", () => {
    textarea.value = editor.getValue();
    if (applying) return;
    ctx.doc = parsed();
    refresh();
    check();
  });
  document.getElementById("studio-form").addEventListener("submit", () => { textarea.value = editor.getValue(); });

  ctx.doc = parsed();
  decorate();
  refresh();
  check();
})();
