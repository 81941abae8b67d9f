// The backfill form (/dags/{dag_id}/backfill): "Preview" asks the API for the plan
// (POST /api/v1/backfills with dry_run) and shows it; "Start backfill", enabled once the
// current inputs were previewed, sends the same body for real and goes to /backfills.
// Errors are shown under the field the API names, or above the form.
(function () {
  "use strict";

  var form = document.querySelector("[data-backfill-form]");
  if (!form) return;
  var previewButton = form.querySelector("[data-backfill-preview]");
  var startButton = form.querySelector("[data-backfill-start]");
  var errorBox = document.querySelector("[data-backfill-error]");
  var area = document.querySelector("[data-backfill-preview-area]");
  var planBody = document.querySelector("[data-backfill-plan]");
  var summary = document.querySelector("[data-backfill-summary]");
  var previewed = null; // the JSON body the shown preview is for

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // The shell's hw.api when it is there; the same contract otherwise.
  function api(method, path, body) {
    if (window.hw && window.hw.api) return window.hw.api(method, path, body);
    return fetch(path, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) {
        if (response.ok) return data;
        var error = new Error(data.detail || response.statusText);
        error.errors = data.errors || [];
        throw error;
      });
    });
  }

  function clearErrors() {
    form.querySelectorAll("[data-field-error]").forEach(function (el) {
      el.textContent = "";
      el.hidden = true;
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
    });
    errorBox.textContent = "";
    errorBox.hidden = true;
  }

  function showFieldError(field, message) {
    var slot = form.querySelector('[data-field-error="' + field + '"]');
    if (!slot) return false;
    slot.textContent = message;
    slot.hidden = false;
    var input = form.elements.namedItem(field);
    if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
    return true;
  }

  function showError(error) {
    var shown = false;
    (error.errors || []).forEach(function (item) {
      // "body.start" -> "start"; "body.conf.region" -> "conf"
      var parts = String(item.field || "").split(".");
      var field = parts[0] === "body" ? parts[1] : parts[0];
      if (showFieldError(field, item.message)) shown = true;
    });
    if (!shown) {
      errorBox.textContent = error.message;
      errorBox.hidden = false;
    }
  }

  // The request body from the inputs, or null after showing what is wrong with them.
  function body(dryRun) {
    var start = form.elements.namedItem("start").value;
    var end = form.elements.namedItem("end").value;
    var ok = true;
    function fail(field, message) {
      showFieldError(field, message);
      ok = false;
    }
    if (!start) fail("start", "Give the first logical date.");
    if (!end) fail("end", "Give the last logical date.");
    if (start && end && start > end) fail("end", "The end is before the start.");
    var conf = null;
    var parsed = true;
    var confText = form.elements.namedItem("conf").value.trim() || "{}";
    try {
      conf = JSON.parse(confText);
    } catch (e) {
      parsed = false;
      fail("conf", "Not valid JSON: " + e.message);
    }
    if (parsed && (conf === null || typeof conf !== "object" || Array.isArray(conf))) {
      fail("conf", 'The conf must be a JSON object, like {"region": "eu"}.');
    }
    if (!ok) return null;
    var result = {
      dag_id: form.getAttribute("data-dag-id"),
      start: start + "T00:00:00+00:00",
      end: end + "T00:00:00+00:00",
      reprocess: form.elements.namedItem("reprocess").value,
      conf: conf,
      run_backwards: form.elements.namedItem("run_backwards").checked,
      dry_run: dryRun,
    };
    var max = form.elements.namedItem("max_active_runs").value;
    if (max !== "") result.max_active_runs = Number(max);
    return result;
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
  }

  function showPlan(plan) {
    planBody.textContent = "";
    var counts = { create: 0, rerun: 0, skip: 0 };
    plan.items.forEach(function (item) {
      counts[item.action] = (counts[item.action] || 0) + 1;
      var row = document.createElement("tr");
      row.setAttribute("data-action", item.action);
      cell(row, item.logical_date, "mono");
      cell(row, item.action, "backfill-action-" + item.action);
      cell(row, item.run_id, "mono");
      cell(row, item.state || "", "");
      cell(row, item.reason, "");
      planBody.appendChild(row);
    });
    summary.textContent =
      plan.items.length + " logical date(s): " + counts.create + " to create, " +
      counts.rerun + " to rerun, " + counts.skip + " skipped. Nothing has changed yet.";
    area.hidden = false;
  }

  function invalidate() {
    previewed = null;
    startButton.disabled = true;
  }

  form.addEventListener("input", invalidate);
  form.addEventListener("change", invalidate);

  previewButton.addEventListener("click", function () {
    clearErrors();
    var request = body(true);
    if (!request) return;
    previewButton.disabled = true;
    api("POST", "/api/v1/backfills", request)
      .then(function (plan) {
        showPlan(plan);
        previewed = JSON.stringify(request);
        startButton.disabled = plan.items.every(function (i) { return i.action === "skip"; });
      })
      .catch(function (error) {
        area.hidden = true;
        showError(error);
      })
      .finally(function () {
        previewButton.disabled = false;
      });
  });

  startButton.addEventListener("click", function () {
    clearErrors();
    var request = body(false);
    if (!request || previewed !== JSON.stringify(Object.assign({}, request, { dry_run: true }))) {
      invalidate();
      return;
    }
    startButton.disabled = true;
    api("POST", "/api/v1/backfills", request)
      .then(function () {
        window.location.assign(form.getAttribute("data-done-url"));
      })
      .catch(function (error) {
        startButton.disabled = false;
        showError(error);
      });
  });
})();
