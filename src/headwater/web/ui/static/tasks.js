// The task pages' own script: the live tail of an attempt's log, the try selector, and the
// clear / mark dialogs of tasks_actions.html (the grid page uses them too).
//
// Everything a stored value holds reaches the page as text nodes (textContent,
// createTextNode), never as HTML: a log line with "<script>" is shown, not run.
(function () {
  "use strict";

  var POLL_MS = 1500;

  // The shell's hw.api (app.js, loaded in <head>): JSON with the CSRF header; rejects with
  // an Error holding the answer's detail.
  function api(method, path, body) {
    return window.hw.api(method, path, body);
  }

  // -- the log: follow a running attempt from next_offset until it is complete ----------

  function followLog(pre) {
    var status = document.querySelector("[data-log-status]");
    var offset = Number(pre.getAttribute("data-log-offset") || "0");
    var url = pre.getAttribute("data-log-url");
    var atBottom = true;

    function setStatus(text) {
      if (status) status.textContent = text;
    }
    pre.addEventListener("scroll", function () {
      atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    });
    function poll() {
      if (document.hidden) {
        window.setTimeout(poll, POLL_MS);
        return;
      }
      api("GET", url + "&offset=" + offset).then(
        function (chunk) {
          var follow = atBottom;
          if (chunk.content) {
            pre.appendChild(document.createTextNode(chunk.content));
            if (follow) pre.scrollTop = pre.scrollHeight;
          }
          offset = chunk.next_offset;
          pre.setAttribute("data-log-offset", String(offset));
          if (chunk.complete) {
            pre.setAttribute("data-log-complete", "true");
            setStatus("The attempt has ended: this is its whole log.");
            return;
          }
          window.setTimeout(poll, POLL_MS);
        },
        function (error) {
          setStatus("Could not read the log (" + error.message + "); trying again.");
          window.setTimeout(poll, POLL_MS * 2);
        }
      );
    }
    if (pre.getAttribute("data-log-complete") !== "true") {
      pre.scrollTop = pre.scrollHeight;
      window.setTimeout(poll, POLL_MS);
    }
  }

  // -- a new try: when the page shows the latest try and the live metadata says a newer
  // one started (a retry, or a run after a clear), show that one -------------------------

  function followNewTries(section) {
    var shown = Number(section.getAttribute("data-tasks-shown-try"));
    section.addEventListener("hw:live-updated", function () {
      var marker = section.querySelector("[data-tasks-latest-try]");
      var latest = marker ? Number(marker.getAttribute("data-tasks-latest-try")) : 0;
      if (latest > shown) {
        window.location.assign(section.getAttribute("data-tasks-latest-url"));
      }
    });
  }

  // -- the try selector: choosing a try shows its page -----------------------------------

  function bindTrySelector(form) {
    var select = form.querySelector("select");
    if (select) {
      select.addEventListener("change", function () {
        form.submit();
      });
    }
  }

  // -- the clear and mark dialogs ---------------------------------------------------------

  var target = null; // what the open dialog acts on: {kind, url, taskId, mapIndex, label, state}
  var previewSeq = 0;

  function requestBody(form, dryRun) {
    var body = { task_ids: [target.taskId], dry_run: dryRun };
    if (target.mapIndex !== null && target.mapIndex >= 0) body.map_index = target.mapIndex;
    form.querySelectorAll('input[type="checkbox"]').forEach(function (box) {
      body[box.name] = box.checked;
    });
    if (target.kind === "mark") body.state = target.state;
    return body;
  }

  function showError(form, message) {
    var error = form.querySelector("[data-tasks-error]");
    error.textContent = message || "";
    error.hidden = !message;
  }

  function label(item) {
    return item.map_index >= 0 ? item.task_id + "[" + item.map_index + "]" : item.task_id;
  }

  function renderPreview(form, answer) {
    var list = form.querySelector("[data-tasks-preview]");
    var confirmButton = form.querySelector("[data-tasks-confirm]");
    list.textContent = "";
    answer.task_instances.forEach(function (item) {
      var li = document.createElement("li");
      li.setAttribute("data-tasks-preview-item", label(item));
      var dot = document.createElement("span");
      dot.className = "dot state-" + item.from_state;
      dot.title = "now " + item.from_state;
      li.appendChild(dot);
      li.appendChild(document.createTextNode(" " + label(item) + " "));
      var states = document.createElement("span");
      states.className = "muted";
      states.textContent = item.from_state + " → " + item.to_state;
      li.appendChild(states);
      list.appendChild(li);
    });
    if (!answer.task_instances.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "Nothing to change: no task instance matches.";
      list.appendChild(none);
    }
    confirmButton.disabled = answer.task_instances.length === 0;
  }

  function preview(form) {
    var seq = ++previewSeq;
    var list = form.querySelector("[data-tasks-preview]");
    form.querySelector("[data-tasks-confirm]").disabled = true;
    showError(form, "");
    list.setAttribute("aria-busy", "true");
    api("POST", target.url + "/" + target.kind, requestBody(form, true)).then(
      function (answer) {
        if (seq !== previewSeq) return; // an older preview: the options changed since
        list.removeAttribute("aria-busy");
        renderPreview(form, answer);
      },
      function (error) {
        if (seq !== previewSeq) return;
        list.removeAttribute("aria-busy");
        list.textContent = "";
        showError(form, error.message);
      }
    );
  }

  function openDialog(button) {
    var kind = button.getAttribute("data-tasks-action");
    var dialog = document.getElementById("tasks-" + kind + "-dialog");
    if (!dialog) return;
    var mapIndex = button.getAttribute("data-map-index");
    target = {
      kind: kind,
      url: button.getAttribute("data-tasks-url"),
      taskId: button.getAttribute("data-task-id"),
      mapIndex: mapIndex === null || mapIndex === "" ? null : Number(mapIndex),
      label: button.getAttribute("data-label") || button.getAttribute("data-task-id"),
      state: button.getAttribute("data-state"),
    };
    var form = dialog.querySelector("form");
    dialog.querySelectorAll("[data-tasks-label]").forEach(function (el) {
      el.textContent = target.label;
    });
    dialog.querySelectorAll("[data-tasks-state]").forEach(function (el) {
      el.textContent = target.state || "";
    });
    var confirmButton = form.querySelector("[data-tasks-confirm]");
    if (kind === "mark") confirmButton.textContent = "Mark " + target.state;
    form.querySelector("[data-tasks-preview]").textContent = "";
    dialog.showModal();
    preview(form);
  }

  function bindDialog(form) {
    var dialog = form.closest("dialog");
    form.addEventListener("change", function () {
      preview(form);
    });
    form.querySelector("[data-tasks-cancel]").addEventListener("click", function () {
      dialog.close();
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var confirmButton = form.querySelector("[data-tasks-confirm]");
      confirmButton.disabled = true;
      api("POST", target.url + "/" + target.kind, requestBody(form, false)).then(
        function () {
          dialog.close();
          window.location.reload(); // the page shows the new states
        },
        function (error) {
          confirmButton.disabled = false;
          showError(form, error.message);
        }
      );
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-tasks-action]");
    if (!button) return;
    event.preventDefault();
    openDialog(button);
  });

  function start() {
    document.querySelectorAll("pre[data-log-url]").forEach(followLog);
    document.querySelectorAll("[data-tasks-try-form]").forEach(bindTrySelector);
    document.querySelectorAll("[data-tasks-shown-try]").forEach(followNewTries);
    document.querySelectorAll("form[data-tasks-dialog]").forEach(bindDialog);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
