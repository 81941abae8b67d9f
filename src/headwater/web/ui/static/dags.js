// The trigger form (templates/dags_trigger.html): checks the params in the browser, sends
// them to POST /api/v1/dags/{dag_id}/runs as {conf, run_id?, logical_date?}, shows the
// server's refusals under their fields, and opens the new run in the grid.
(function () {
  "use strict";

  // The shared script's call (app.js): JSON, the CSRF token, errors with their fields.
  function api(method, path, body) {
    return window.hw.api(method, path, body);
  }

  function fieldBox(form, field) {
    return form.querySelector('[data-field="' + CSS.escape(field) + '"]');
  }

  function showFieldError(form, field, message) {
    var box = fieldBox(form, field);
    if (!box) return false;
    var slot = box.querySelector(".field-error");
    var input = box.querySelector("input, select, textarea");
    slot.textContent = message;
    slot.hidden = false;
    if (input) input.setAttribute("aria-invalid", "true");
    var details = box.closest("details");
    if (details) details.open = true;
    return true;
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach(function (slot) {
      slot.textContent = "";
      slot.hidden = true;
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (input) {
      input.removeAttribute("aria-invalid");
    });
    form.querySelector("#trigger-error").textContent = "";
  }

  // A JSON field must hold JSON: the browser refuses to submit until it does.
  function checkJson(input) {
    if (!input.hasAttribute("data-json") || input.value.trim() === "") {
      input.setCustomValidity("");
      return;
    }
    try {
      JSON.parse(input.value);
      input.setCustomValidity("");
    } catch (e) {
      input.setCustomValidity("Not valid JSON: " + e.message);
    }
  }

  function paramValue(input) {
    if (input.type === "checkbox") return input.checked;
    var text = input.value;
    if (text.trim() === "") return undefined;
    if (input.hasAttribute("data-datetime")) return toUtc(text);
    if (input.hasAttribute("data-json")) return JSON.parse(text);
    return text;
  }

  // A datetime-local value ("2024-01-31T08:00") read as UTC.
  function toUtc(text) {
    return (text.length === 16 ? text + ":00" : text) + "Z";
  }

  function collect(form) {
    var conf = {};
    form.querySelectorAll("[data-param]").forEach(function (input) {
      var value = paramValue(input);
      if (value !== undefined) conf[input.getAttribute("data-param")] = value;
    });
    var body = { conf: conf };
    var runId = form.querySelector('[name="run_id"]').value.trim();
    var logical = form.querySelector('[name="logical_date"]').value;
    if (runId) body.run_id = runId;
    if (logical) body.logical_date = toUtc(logical);
    return body;
  }

  // "body.conf.region" -> "conf.region"; a 400 without field errors that starts with a
  // field's name ("run_id 'x' is not valid") is shown under that field.
  function showRefusal(form, error) {
    var shown = false;
    (error.errors || []).forEach(function (item) {
      var field = String(item.field || "").replace(/^body\./, "");
      shown = showFieldError(form, field, item.message) || shown;
    });
    if (!shown) {
      ["run_id", "logical_date"].forEach(function (field) {
        if (!shown && error.message.indexOf(field + " ") === 0) {
          shown = showFieldError(form, field, error.message);
        }
      });
    }
    if (!shown) {
      form.querySelector("#trigger-error").textContent = error.message;
    }
  }

  function setUp(form) {
    form.querySelectorAll("[data-json]").forEach(function (input) {
      input.addEventListener("input", function () { checkJson(input); });
      checkJson(input);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearErrors(form);
      if (!form.reportValidity()) return;
      var button = form.querySelector('[type="submit"]');
      if (button) button.disabled = true;
      var dagId = form.getAttribute("data-dag-id");
      api("POST", "/api/v1/dags/" + encodeURIComponent(dagId) + "/runs", collect(form))
        .then(function (run) {
          window.location.assign(form.getAttribute("data-run-url") + encodeURIComponent(run.run_id));
        })
        .catch(function (error) {
          showRefusal(form, error);
          if (button) button.disabled = false;
        });
    });
  }

  var form = document.getElementById("trigger-form");
  if (form) setUp(form);
})();
