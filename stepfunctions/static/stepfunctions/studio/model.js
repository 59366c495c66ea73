/* Workflow Studio's edits of an ASL document (pure: no page). A state's arrows are its Next,
   Default, Choices[].Next and Catch[].Next; renaming, inserting and deleting keep them whole. */
"use strict";
window.StudioModel = (function () {
  function targets(state) {
    const out = [];
    if (state.Next) out.push(state.Next);
    if (state.Default) out.push(state.Default);
    (state.Choices || []).forEach((rule) => rule.Next && out.push(rule.Next));
    (state.Catch || []).forEach((catcher) => catcher.Next && out.push(catcher.Next));
    return out;
  }

  function redirect(state, from, to) {
    if (state.Next === from) state.Next = to;
    if (state.Default === from) state.Default = to;
    (state.Choices || []).forEach((rule) => { if (rule.Next === from) rule.Next = to; });
    (state.Catch || []).forEach((catcher) => { if (catcher.Next === from) catcher.Next = to; });
  }

  // The States object rebuilt in the same order, `name` at `after`'s place + 1 (or renamed).
  function reordered(states, { after = null, rename = null, add = null }) {
    const out = {};
    Object.keys(states).forEach((key) => {
      out[rename && key === rename[0] ? rename[1] : key] = states[key];
      if (add && key === after) out[add[0]] = add[1];
    });
    if (add && !(add[0] in out)) out[add[0]] = add[1];
    return out;
  }

  function rename(doc, from, to) {
    if (!to || to === from || to in doc.States) return false;
    doc.States = reordered(doc.States, { rename: [from, to] });
    Object.values(doc.States).forEach((state) => redirect(state, from, to));
    if (doc.StartAt === from) doc.StartAt = to;
    return true;
  }

  function fresh(type, resource, next) {
    const state = { Type: type };
    if (type === "Task") state.Resource = resource;
    if (type === "Wait") state.Seconds = 1;
    if (type === "Fail") state.Error = "Failed";
    if (type === "Choice") {
      state.Choices = [{ Variable: "$.value", IsPresent: true, Next: next }];
      state.Default = next;
      return state;
    }
    if (type === "Parallel") {
      state.Branches = [{ StartAt: "Branch", States: { Branch: { Type: "Pass", End: true } } }];
    }
    if (type === "Map") {
      state.ItemProcessor = {
        ProcessorConfig: { Mode: "INLINE" },
        StartAt: "Item",
        States: { Item: { Type: "Pass", End: true } },
      };
    }
    if (type !== "Succeed" && type !== "Fail") {
      if (next) state.Next = next;
      else state.End = true;
    }
    return state;
  }

  function unique(doc, name) {
    let candidate = name;
    for (let i = 2; candidate in doc.States; i += 1) candidate = `${name} ${i}`;
    return candidate;
  }

  // Between `from` and `to` (to null: after `from`'s end), or as a new Catch fallback of `from`.
  function insert(doc, { where, from, to, type, resource, name }) {
    const fromState = doc.States[from];
    name = unique(doc, name || `${type} state`);
    if (where === "catch") {
      const state = fresh(type, resource, null);
      fromState.Catch = (fromState.Catch || []).concat([{ ErrorEquals: ["States.ALL"], Next: name }]);
      doc.States = reordered(doc.States, { add: [name, state] });
      return name;
    }
    const state = fresh(type, resource, to);
    if (to) redirect(fromState, to, name);
    else {
      delete fromState.End;
      fromState.Next = name;
    }
    doc.States = reordered(doc.States, { after: from, add: [name, state] });
    return name;
  }

  // Its arrows go to its one Next when it has one; otherwise the check names what points nowhere.
  function remove(doc, name) {
    const state = doc.States[name];
    const next = state.Type !== "Choice" && state.Next ? state.Next : null;
    delete doc.States[name];
    if (next) {
      Object.values(doc.States).forEach((other) => redirect(other, name, next));
      if (doc.StartAt === name) doc.StartAt = next;
    }
    return next;
  }

  function edges(doc) {
    const out = [];
    Object.entries(doc.States || {}).forEach(([name, state]) => {
      const seen = new Set();
      targets(state).forEach((to) => {
        if (!seen.has(to) && to in doc.States) out.push([name, to]);
        seen.add(to);
      });
      if (state.End) out.push([name, null]);
    });
    return out;
  }

  return { targets, rename, insert, remove, edges };
})();
