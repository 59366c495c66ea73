/* Workflow Studio's state panel: a form per state with the console's tabs (Configuration,
   Input/Output, Error handling). Each field reads the state and writes it back through `commit`;
   the page then rewrites the JSON and redraws the diagram. */
"use strict";
window.StudioPanel = (function () {
  const CALLBACK = ".waitForTaskToken";
  const RESULT_CHOICES = [
    ["result", "Transform result to be the output"],
    ["combine", "Combine original input with result"],
    ["discard", "Discard result and keep original input"],
  ];
  const WITH_RESULT = ["Task", "Parallel", "Map", "Pass"];
  const WITH_ERRORS = ["Task", "Parallel", "Map"];

  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    Object.entries(attrs).forEach(([key, value]) => {
      if (value === false || value === null || value === undefined) return;
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    });
    children.forEach((child) => child && node.appendChild(child));
    return node;
  }

  function json(value) {
    return value === undefined ? "" : JSON.stringify(value, null, 2);
  }

  // One labelled field: `read` gives its value, `write` takes the new one (may throw a message).
  function field(ctx, { id, label, kind = "text", options = [], read, write, hint, disabled, step }) {
    const wrap = el("div", { class: "studio-field" });
    const inputId = `sf-${id}`;
    let input;
    if (kind === "json") {
      input = el("textarea", { id: inputId, rows: 6, spellcheck: "false" });
      input.value = json(read());
    } else if (kind === "select") {
      input = el("select", { id: inputId });
      options.forEach(([value, text]) => input.appendChild(el("option", { value, text })));
      input.value = read();
    } else if (kind === "checkbox") {
      input = el("input", { id: inputId, type: "checkbox" });
      input.checked = Boolean(read());
    } else {
      input = el("input", { id: inputId, type: kind === "number" ? "number" : "text" });
      if (kind === "number") input.min = "0";
      if (step) input.step = step;
      const value = read();
      input.value = value === undefined || value === null ? "" : String(value);
    }
    if (disabled) input.disabled = true;
    const error = el("p", { class: "studio-field-error", id: `${inputId}-error`, hidden: true });
    const label_ = el("label", { for: inputId, text: label });
    if (hint) input.setAttribute("aria-describedby", `${inputId}-hint`);
    input.addEventListener("change", () => {
      let value = kind === "checkbox" ? input.checked : input.value;
      try {
        if (kind === "json") value = value.trim() === "" ? undefined : parse(value);
        if (kind === "number") value = value === "" ? undefined : Number(value);
        ctx.commit(() => write(value), inputId);
      } catch (problem) {
        error.textContent = String(problem.message || problem);
        error.hidden = false;
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-errormessage", error.id);
      }
    });
    if (kind === "text" || kind === "number") {
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") input.dispatchEvent(new Event("change"));
      });
    }
    if (kind === "checkbox") wrap.append(input, label_);
    else wrap.append(label_, input);
    if (hint) wrap.appendChild(el("p", { class: "help", id: `${inputId}-hint`, text: hint }));
    wrap.appendChild(error);
    return wrap;
  }

  function parse(text) {
    try {
      return JSON.parse(text);
    } catch (problem) {
      throw new Error(`Not JSON: ${problem.message}`);
    }
  }

  function set(state, key, value) {
    if (value === undefined || value === "") delete state[key];
    else state[key] = value;
  }

  function nextOptions(doc, name, none) {
    return [[none[0], none[1]], ...Object.keys(doc.States).filter((n) => n !== name).map((n) => [n, n])];
  }

  function configuration(ctx, name, state) {
    const doc = ctx.doc;
    const out = [
      field(ctx, {
        id: "name", label: "State name", read: () => name,
        write: (value) => {
          if (!value || (value !== name && value in doc.States)) throw new Error("Another state has this name, or it is empty.");
          ctx.rename(name, value);
        },
      }),
      el("p", { class: "studio-type", text: `Type: ${state.Type}` }),
      field(ctx, { id: "comment", label: "Comment", read: () => state.Comment, write: (v) => set(state, "Comment", v) }),
    ];
    if (state.Type === "Task") {
      const base = String(state.Resource || "").replace(CALLBACK, "");
      const known = ctx.config.resources.includes(base) ? ctx.config.resources : [base, ...ctx.config.resources];
      out.push(
        field(ctx, {
          id: "resource", label: "Resource", kind: "select", options: known.map((r) => [r, r]), read: () => base,
          write: (value) => { state.Resource = value + (String(state.Resource).endsWith(CALLBACK) ? CALLBACK : ""); },
        }),
        field(ctx, {
          id: "callback", label: "Wait for callback", kind: "checkbox",
          read: () => String(state.Resource || "").endsWith(CALLBACK),
          write: (on) => { state.Resource = base + (on ? CALLBACK : ""); },
        }),
        field(ctx, { id: "parameters", label: "API Parameters (JSON)", kind: "json", read: () => state.Parameters, write: (v) => set(state, "Parameters", v) }),
      );
    }
    if (state.Type === "Pass") {
      out.push(field(ctx, { id: "result", label: "Result (JSON)", kind: "json", read: () => state.Result, write: (v) => set(state, "Result", v) }));
    }
    if (state.Type === "Wait") {
      out.push(field(ctx, { id: "seconds", label: "Seconds", kind: "number", read: () => state.Seconds, write: (v) => set(state, "Seconds", v) }));
    }
    if (state.Type === "Fail") {
      out.push(
        field(ctx, { id: "error", label: "Error", read: () => state.Error, write: (v) => set(state, "Error", v) }),
        field(ctx, { id: "cause", label: "Cause", read: () => state.Cause, write: (v) => set(state, "Cause", v) }),
      );
    }
    if (state.Type === "Choice") {
      out.push(
        field(ctx, { id: "default", label: "Default state", kind: "select", options: nextOptions(doc, name, ["", "(none)"]), read: () => state.Default || "", write: (v) => set(state, "Default", v) }),
        el("p", { class: "help", text: "The Choice rules are edited in the definition's JSON." }),
      );
    }
    if (!["Choice", "Succeed", "Fail"].includes(state.Type)) {
      out.push(field(ctx, {
        id: "next", label: "Next state", kind: "select", options: nextOptions(doc, name, ["", "(end: the workflow ends here)"]),
        read: () => state.Next || "",
        write: (value) => {
          if (value) { state.Next = value; delete state.End; } else { delete state.Next; state.End = true; }
        },
      }));
    }
    return out;
  }

  function inputOutput(ctx, name, state) {
    const out = [field(ctx, { id: "inputpath", label: "InputPath", read: () => state.InputPath, write: (v) => set(state, "InputPath", v) })];
    if (state.Type !== "Task" && ["Pass", "Parallel", "Map"].includes(state.Type)) {
      out.push(field(ctx, { id: "io-parameters", label: "Parameters (JSON)", kind: "json", read: () => state.Parameters, write: (v) => set(state, "Parameters", v) }));
    }
    if (["Task", "Parallel", "Map"].includes(state.Type)) {
      out.push(field(ctx, { id: "resultselector", label: "ResultSelector (JSON)", kind: "json", read: () => state.ResultSelector, write: (v) => set(state, "ResultSelector", v) }));
    }
    if (WITH_RESULT.includes(state.Type)) {
      const choice = () => (!("ResultPath" in state) ? "result" : state.ResultPath === null ? "discard" : "combine");
      out.push(
        field(ctx, {
          id: "resultpath-choice", label: "Add original input to output using ResultPath", kind: "select", options: RESULT_CHOICES, read: choice,
          write: (value) => {
            if (value === "result") delete state.ResultPath;
            if (value === "discard") state.ResultPath = null;
            if (value === "combine") state.ResultPath = typeof state.ResultPath === "string" ? state.ResultPath : "$.result";
          },
        }),
        field(ctx, {
          id: "resultpath", label: "ResultPath", read: () => (typeof state.ResultPath === "string" ? state.ResultPath : ""),
          disabled: choice() !== "combine", write: (v) => { state.ResultPath = v || "$"; },
        }),
      );
    }
    if (state.Type !== "Fail") {
      out.push(field(ctx, { id: "outputpath", label: "OutputPath", read: () => state.OutputPath, write: (v) => set(state, "OutputPath", v) }));
    }
    return out;
  }

  function catcher(ctx, name, state, i) {
    const c = state.Catch[i];
    const box = el("fieldset", { class: "studio-catcher" }, [el("legend", { text: `Catcher ${i + 1}` })]);
    box.append(
      field(ctx, { id: `catch-${i}-comment`, label: "Comment", read: () => c.Comment, write: (v) => set(c, "Comment", v) }),
      field(ctx, {
        id: `catch-${i}-errors`, label: "Errors (comma separated)", read: () => (c.ErrorEquals || []).join(", "),
        hint: "States.ALL, States.Timeout, States.TaskFailed, States.HeartbeatTimeout, or an error name",
        write: (v) => { c.ErrorEquals = v.split(",").map((e) => e.trim()).filter(Boolean); },
      }),
      field(ctx, {
        id: `catch-${i}-next`, label: "Fallback state", kind: "select", options: nextOptions(ctx.doc, name, ["", "(choose a state)"]),
        read: () => c.Next || "", write: (v) => set(c, "Next", v),
      }),
      field(ctx, { id: `catch-${i}-resultpath`, label: "ResultPath", read: () => c.ResultPath, write: (v) => set(c, "ResultPath", v) }),
    );
    const remove = el("button", { type: "button", id: `sf-catch-${i}-remove`, class: "button", text: `Remove catcher ${i + 1}` });
    remove.addEventListener("click", () => ctx.commit(() => {
      state.Catch.splice(i, 1);
      if (!state.Catch.length) delete state.Catch;
    }, "sf-catch-add", true));
    box.appendChild(remove);
    return box;
  }

  // One Retry rule as a form; its other fields (MaxDelaySeconds, JitterStrategy) are kept as they are.
  function retrier(ctx, state, i) {
    const r = state.Retry[i];
    const box = el("fieldset", { class: "studio-catcher studio-retrier" }, [el("legend", { text: `Retrier ${i + 1}` })]);
    const number = (key, label, extra = {}) => field(ctx, {
      id: `retry-${i}-${key.toLowerCase()}`, label, kind: "number", read: () => r[key], write: (v) => set(r, key, v), ...extra,
    });
    box.append(
      field(ctx, {
        id: `retry-${i}-errors`, label: "Errors (comma separated)", read: () => (r.ErrorEquals || []).join(", "),
        hint: "States.ALL, States.Timeout, States.TaskFailed, or an error name",
        write: (v) => { r.ErrorEquals = v.split(",").map((e) => e.trim()).filter(Boolean); },
      }),
      number("IntervalSeconds", "Interval (seconds, default 1)"),
      number("MaxAttempts", "Max attempts (default 3)"),
      number("BackoffRate", "Backoff rate (default 2.0)", { step: "any" }),
    );
    const remove = el("button", { type: "button", id: `sf-retry-${i}-remove`, class: "button", text: `Remove retrier ${i + 1}` });
    remove.addEventListener("click", () => ctx.commit(() => {
      state.Retry.splice(i, 1);
      if (!state.Retry.length) delete state.Retry;
    }, "sf-retry-add", true));
    box.appendChild(remove);
    return box;
  }

  function errorHandling(ctx, name, state) {
    if (!WITH_ERRORS.includes(state.Type)) return [el("p", { text: `A ${state.Type} state has no error handling.` })];
    const out = [];
    if (state.Retry !== undefined && !(Array.isArray(state.Retry) && state.Retry.every((r) => r && typeof r === "object"))) {
      // Not a list of rules (typed so in the JSON): edited as JSON until it is one.
      out.push(field(ctx, { id: "retry", label: "Retry (JSON list of retriers)", kind: "json", read: () => state.Retry, write: (v) => set(state, "Retry", v) }));
    } else {
      (state.Retry || []).forEach((_, i) => out.push(retrier(ctx, state, i)));
      const addRetry = el("button", { type: "button", id: "sf-retry-add", class: "button", text: "Add new retrier" });
      addRetry.addEventListener("click", () => ctx.commit(() => {
        state.Retry = (state.Retry || []).concat([{ ErrorEquals: ["States.ALL"] }]);
      }, `sf-retry-${(state.Retry || []).length}-errors`, true));
      out.push(addRetry);
    }
    (state.Catch || []).forEach((_, i) => out.push(catcher(ctx, name, state, i)));
    const add = el("button", { type: "button", id: "sf-catch-add", class: "button", text: "Add new catcher" });
    add.addEventListener("click", () => ctx.commit(() => {
      state.Catch = (state.Catch || []).concat([{ ErrorEquals: ["States.ALL"] }]);
    }, `sf-catch-${(state.Catch || []).length}-errors`, true));
    out.push(
      add,
      field(ctx, { id: "heartbeat", label: "HeartbeatSeconds", kind: "number", read: () => state.HeartbeatSeconds, write: (v) => set(state, "HeartbeatSeconds", v) }),
      field(ctx, { id: "timeout", label: "TimeoutSeconds", kind: "number", read: () => state.TimeoutSeconds, write: (v) => set(state, "TimeoutSeconds", v) }),
    );
    return out;
  }

  const TABS = [["config", "Configuration", configuration], ["io", "Input/Output", inputOutput], ["errors", "Error handling", errorHandling]];

  // The panel of state `name` into `root`; `tab` is the tab to show.
  function render(ctx, root, name, tab) {
    root.replaceChildren();
    const state = ctx.doc.States[name];
    const list = el("div", { role: "tablist", "aria-label": `State ${name}` });
    const tabs = TABS.map(([key, text]) => el("button", {
      type: "button", role: "tab", id: `studio-tab-${key}`, "aria-controls": `studio-tabpanel-${key}`,
      "aria-selected": String(key === tab), tabindex: key === tab ? "0" : "-1", text,
    }));
    tabs.forEach((button, i) => {
      button.addEventListener("click", () => ctx.showTab(TABS[i][0]));
      button.addEventListener("keydown", (event) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (!step) return;
        const next = TABS[(i + step + TABS.length) % TABS.length][0];
        ctx.showTab(next);
        document.getElementById(`studio-tab-${next}`).focus();
      });
      list.appendChild(button);
    });
    root.appendChild(list);
    TABS.forEach(([key, , build]) => {
      const panel = el("div", { role: "tabpanel", id: `studio-tabpanel-${key}`, "aria-labelledby": `studio-tab-${key}`, hidden: key !== tab });
      build(ctx, name, state).forEach((node) => panel.appendChild(node));
      root.appendChild(panel);
    });
    const remove = el("button", { type: "button", id: "sf-delete", class: "button studio-delete", text: `Delete state “${name}”` });
    remove.addEventListener("click", () => ctx.remove(name));
    root.appendChild(remove);
  }

  return { render, el };
})();
