// headwater's shared page script: window.hw, and the declarative behaviours every page uses.
//
// * hw.api(method, path, body?): a JSON request with the session's CSRF token; rejects with
//   an Error whose message is the answer's "detail" and whose "errors" are its field errors.
// * hw.confirm(message): an accessible <dialog>; resolves true (confirmed) or false.
// * hw.toast(text, kind): a short message ("info", "success" or "error").
// * <button data-api-action="POST /api/v1/..." data-body='{...}' data-confirm="..."
//   data-after="reload">: calls the API on click.
// * <form data-api-form="POST /api/v1/variables" data-after="reload">: sends its inputs
//   as JSON ("{name}" in the path is filled from the inputs; data-json inputs are parsed,
//   checkboxes are booleans, number inputs numbers, empty data-optional inputs left out);
//   field errors of the answer are shown under their inputs.
// * <element data-live-url="/page?fragment=x" data-live-interval="3000">: reloads its
//   content from that URL while the tab is visible, until it holds [data-live-done]
//   (hw.live(element) starts one added after the page loaded).
// * <button data-open-dialog="id" data-fill='{"name": "value"}'> opens <dialog id>, filling
//   the inputs of its form by name; [data-close-dialog] closes the dialog it is in.
// * The header's theme toggle (light/dark, remembered; the default follows the system).
//
// Server text is only ever put in the page with textContent, except the fragments the
// server rendered (and escaped) for data-live-url.
"use strict";

(function () {
  const THEME_KEY = "headwater-theme";
  const root = document.documentElement;

  // Before the body is drawn (this script is in <head>): the remembered theme, if any.
  try {
    const saved = localStorage.getItem(THEME_KEY);
    if (saved === "light" || saved === "dark") root.dataset.theme = saved;
  } catch (_) {
    // Storage may be blocked; the system's preference then applies.
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  class ApiError extends Error {
    constructor(message, status, errors) {
      super(message);
      this.name = "ApiError";
      this.status = status;
      this.errors = errors || [];
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json", "X-CSRF-Token": csrfToken() };
    const init = { method: method.toUpperCase(), headers: headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new ApiError("the server cannot be reached: " + err.message, 0, []);
    }
    let data = null;
    const type = response.headers.get("Content-Type") || "";
    if (response.status !== 204 && type.includes("application/json")) {
      data = await response.json();
    }
    if (!response.ok) {
      const detail = data && typeof data.detail === "string" ? data.detail : response.status + " " + response.statusText;
      throw new ApiError(detail, response.status, data && Array.isArray(data.errors) ? data.errors : []);
    }
    return data;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function confirmDialog(message, options) {
    const opts = options || {};
    return new Promise(function (resolve) {
      const dialog = el("dialog", "confirm-dialog");
      dialog.setAttribute("aria-labelledby", "hw-confirm-title");
      const body = el("div", "dialog-body");
      const title = el("h2", "", opts.title || "Please confirm");
      title.id = "hw-confirm-title";
      body.append(title, el("p", "dialog-message", message));
      const buttons = el("div", "dialog-buttons");
      const cancel = el("button", "btn", "Cancel");
      cancel.type = "button";
      const ok = el("button", opts.danger ? "btn btn-danger" : "btn btn-primary", opts.okLabel || "Confirm");
      ok.type = "button";
      buttons.append(cancel, ok);
      dialog.append(body, buttons);
      let answer = false;
      cancel.addEventListener("click", function () { dialog.close(); });
      ok.addEventListener("click", function () { answer = true; dialog.close(); });
      dialog.addEventListener("close", function () {
        dialog.remove();
        resolve(answer);
      });
      document.body.append(dialog);
      dialog.showModal();
      // A destructive action is not one Enter away: the focus starts on Cancel.
      (opts.danger ? cancel : ok).focus();
    });
  }

  function toast(text, kind) {
    let box = document.querySelector("[data-toasts]");
    if (!box) {
      box = el("div", "toasts");
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      box.dataset.toasts = "";
      document.body.append(box);
    }
    const item = el("div", "toast toast-" + (kind || "info"), String(text));
    box.append(item);
    setTimeout(function () { item.remove(); }, kind === "error" ? 9000 : 4500);
    return item;
  }

  function splitAction(spec) {
    const at = spec.indexOf(" ");
    return { method: spec.slice(0, at).trim(), path: spec.slice(at + 1).trim() };
  }

  function fillPath(path, values) {
    return path.replace(/\{([A-Za-z0-9_]+)\}/g, function (whole, name) {
      if (values === null || values === undefined || !(name in values)) return whole;
      return encodeURIComponent(String(values[name]));
    });
  }

  function after(spec, answer) {
    if (!spec) return;
    if (spec === "reload") {
      location.reload();
    } else if (spec === "none") {
      // The page shows the toast only.
    } else {
      location.assign(fillPath(spec, answer || {}));
    }
  }

  async function runAction(button) {
    const action = splitAction(button.dataset.apiAction);
    let body;
    if (button.dataset.body) {
      try {
        body = JSON.parse(button.dataset.body);
      } catch (err) {
        toast("this button's request is not valid JSON", "error");
        return;
      }
    }
    if (button.dataset.confirm) {
      const danger = button.classList.contains("btn-danger");
      if (!(await confirmDialog(button.dataset.confirm, { danger: danger }))) return;
    }
    button.disabled = true;
    try {
      const answer = await api(action.method, action.path, body);
      toast(button.dataset.success || "Done", "success");
      after(button.dataset.after, answer);
    } catch (err) {
      toast(err.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  function formValues(form) {
    const values = {};
    const problems = [];
    for (const input of form.elements) {
      if (!input.name || input.disabled || input.type === "submit" || input.type === "button") continue;
      if (input.name === "csrf_token") continue;
      if (input.type === "checkbox") {
        values[input.name] = input.checked;
      } else if (input.type === "radio") {
        if (input.checked) values[input.name] = input.value;
      } else if (input.value === "" && input.dataset.optional !== undefined) {
        continue;
      } else if (input.dataset.json !== undefined) {
        try {
          values[input.name] = input.value.trim() === "" ? null : JSON.parse(input.value);
        } catch (err) {
          problems.push({ field: input.name, message: "not valid JSON: " + err.message });
        }
      } else if (input.type === "number") {
        values[input.name] = input.value === "" ? null : Number(input.value);
      } else {
        values[input.name] = input.value;
      }
    }
    return { values: values, problems: problems };
  }

  function clearFieldErrors(form) {
    form.querySelectorAll(".field-error[data-hw-error]").forEach(function (node) { node.remove(); });
    form.querySelectorAll('[aria-invalid="true"]').forEach(function (node) { node.removeAttribute("aria-invalid"); });
    const general = form.querySelector("[data-form-error]");
    if (general) general.textContent = "";
  }

  function showFieldErrors(form, errors, detail) {
    let shown = 0;
    for (const error of errors) {
      const parts = String(error.field || "").split(".");
      // "body.slots" or "body.extra.port": the first input named by a part after "body".
      const names = parts[0] === "body" ? parts.slice(1) : parts;
      const input = names.length ? form.elements.namedItem(names[0]) : null;
      if (!input || !(input instanceof Element)) continue;
      input.setAttribute("aria-invalid", "true");
      const note = el("p", "field-error", error.message);
      note.dataset.hwError = "";
      note.id = "err-" + Math.random().toString(36).slice(2);
      input.setAttribute("aria-describedby", note.id);
      input.insertAdjacentElement("afterend", note);
      shown += 1;
    }
    const general = form.querySelector("[data-form-error]");
    if (general) {
      general.textContent = detail;
    } else if (!shown) {
      toast(detail, "error");
    }
  }

  async function submitForm(form) {
    clearFieldErrors(form);
    const collected = formValues(form);
    if (collected.problems.length) {
      showFieldErrors(form, collected.problems, "Please correct the fields marked.");
      return;
    }
    if (form.dataset.confirm && !(await confirmDialog(form.dataset.confirm))) return;
    const action = splitAction(form.dataset.apiForm);
    const submit = form.querySelector('[type="submit"]');
    if (submit) submit.disabled = true;
    try {
      const answer = await api(action.method, fillPath(action.path, collected.values), collected.values);
      toast(form.dataset.success || "Saved", "success");
      const dialog = form.closest("dialog");
      if (dialog && !form.dataset.after) dialog.close();
      after(form.dataset.after, answer);
    } catch (err) {
      showFieldErrors(form, err.errors || [], err.message);
    } finally {
      if (submit) submit.disabled = false;
    }
  }

  function openDialog(button) {
    const dialog = document.getElementById(button.dataset.openDialog);
    if (!dialog || typeof dialog.showModal !== "function") return;
    const form = dialog.querySelector("form");
    if (form) {
      form.reset();
      clearFieldErrors(form);
      if (button.dataset.fill) {
        const values = JSON.parse(button.dataset.fill);
        for (const [name, value] of Object.entries(values)) {
          const input = form.elements.namedItem(name);
          if (!input || !(input instanceof Element)) continue;
          if (input.type === "checkbox") input.checked = Boolean(value);
          else input.value = value === null || value === undefined ? "" : String(value);
        }
      }
      // An edit form may lock its key field; an add form unlocks it.
      form.querySelectorAll("[data-lock-on-edit]").forEach(function (input) {
        input.readOnly = Boolean(button.dataset.fill);
      });
      if (button.dataset.formAction) form.dataset.apiForm = button.dataset.formAction;
    }
    const title = dialog.querySelector("[data-dialog-title]");
    if (title && button.dataset.dialogTitle) title.textContent = button.dataset.dialogTitle;
    dialog.showModal();
    const first = dialog.querySelector("input:not([type=hidden]):not([readonly]), select, textarea");
    if (first) first.focus();
  }

  function currentTheme() {
    if (root.dataset.theme === "light" || root.dataset.theme === "dark") return root.dataset.theme;
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function labelThemeToggle() {
    const theme = currentTheme();
    const next = theme === "dark" ? "light" : "dark";
    document.querySelectorAll("[data-theme-toggle]").forEach(function (button) {
      button.setAttribute("aria-label", "Switch to the " + next + " theme");
      button.setAttribute("aria-pressed", theme === "dark" ? "true" : "false");
      const name = button.querySelector(".theme-name");
      if (name) name.textContent = next === "dark" ? "Dark" : "Light";
    });
  }

  function toggleTheme() {
    const next = currentTheme() === "dark" ? "light" : "dark";
    root.dataset.theme = next;
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch (_) {
      // Not remembered; it still applies to this page.
    }
    labelThemeToggle();
  }

  function startLive(node) {
    const url = node.dataset.liveUrl;
    const interval = Math.max(500, Number(node.dataset.liveInterval) || 3000);
    let busy = false;
    async function tick() {
      if (node.querySelector("[data-live-done]") || !node.isConnected) return;
      if (!document.hidden && !busy) {
        busy = true;
        try {
          const response = await fetch(url, {
            headers: { Accept: "text/html", "X-Requested-With": "fetch" },
            credentials: "same-origin",
          });
          if (response.redirected && new URL(response.url).pathname === "/login") {
            location.assign(response.url);
            return;
          }
          if (response.ok) {
            // A fragment the server rendered with its autoescaped templates.
            node.innerHTML = await response.text();
            node.dispatchEvent(new CustomEvent("hw:live-updated", { bubbles: true }));
          }
        } catch (_) {
          // The server may be restarting: try again at the next interval.
        } finally {
          busy = false;
        }
      }
      if (!node.querySelector("[data-live-done]")) setTimeout(tick, interval);
    }
    setTimeout(tick, interval);
  }

  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (menu !== except) menu.open = false;
    });
  }

  document.addEventListener("click", function (event) {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const action = target.closest("[data-api-action]");
    if (action) {
      event.preventDefault();
      runAction(action);
      return;
    }
    const opener = target.closest("[data-open-dialog]");
    if (opener) {
      event.preventDefault();
      openDialog(opener);
      return;
    }
    const closer = target.closest("[data-close-dialog]");
    if (closer) {
      const dialog = closer.closest("dialog");
      if (dialog) dialog.close();
      return;
    }
    if (target.closest("[data-theme-toggle]")) {
      toggleTheme();
      return;
    }
    closeMenus(target.closest("details[data-menu]"));
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.apiForm) {
      event.preventDefault();
      submitForm(form);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    const open = document.querySelector("details[data-menu][open]");
    if (open) {
      open.open = false;
      const summary = open.querySelector("summary");
      if (summary) summary.focus();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    labelThemeToggle();
    document.querySelectorAll("[data-live-url]").forEach(startLive);
    if (window.matchMedia) {
      window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", labelThemeToggle);
    }
  });

  window.hw = {
    api: api,
    confirm: confirmDialog,
    toast: toast,
    ApiError: ApiError,
    theme: currentTheme,
    live: startLive,
  };
})();
