// The DAG views' own behaviour: collapsible group rows of the grid (state remembered per
// DAG in localStorage, and kept when the live grid is swapped in again), and run selectors
// that show their choice at once (their forms also have a Show button). Everything else is the shell's (app.js).
(function () {
  "use strict";

  function storageKey(dagId) {
    return "hw.views.collapsed." + dagId;
  }

  function loadCollapsed(dagId) {
    try {
      var raw = window.localStorage.getItem(storageKey(dagId));
      var list = raw ? JSON.parse(raw) : [];
      return Array.isArray(list) ? list : [];
    } catch (e) {
      return [];
    }
  }

  function saveCollapsed(dagId, list) {
    try {
      window.localStorage.setItem(storageKey(dagId), JSON.stringify(list));
    } catch (e) {
      // Storage may be disabled: the grid still works, it just forgets.
    }
  }

  // Hide every row under a collapsed group, walking the rows in order with a stack of the
  // groups open above the current row.
  function applyCollapsed(grid, collapsed) {
    var stack = [];
    grid.querySelectorAll("tr[data-views-row]").forEach(function (row) {
      var depth = Number(row.getAttribute("data-views-depth"));
      while (stack.length && stack[stack.length - 1].depth >= depth) {
        stack.pop();
      }
      var hidden = stack.some(function (g) { return g.collapsed; });
      row.hidden = hidden;
      var toggle = row.querySelector("[data-views-toggle]");
      if (toggle) {
        var isCollapsed = collapsed.indexOf(toggle.getAttribute("data-views-toggle")) >= 0;
        toggle.setAttribute("aria-expanded", isCollapsed ? "false" : "true");
        stack.push({ depth: depth, collapsed: isCollapsed });
      }
    });
  }

  function setUpGrid(grid) {
    var dagId = grid.getAttribute("data-views-dag");
    var apply = function () { applyCollapsed(grid, loadCollapsed(dagId)); };
    grid.addEventListener("click", function (event) {
      var toggle = event.target.closest("[data-views-toggle]");
      if (!toggle) {
        return;
      }
      var group = toggle.getAttribute("data-views-toggle");
      var list = loadCollapsed(dagId).filter(function (g) { return g !== group; });
      if (toggle.getAttribute("aria-expanded") === "true") {
        list.push(group);
      }
      saveCollapsed(dagId, list);
      apply();
    });
    // The live refresh replaces the grid's content: collapse its groups again.
    new MutationObserver(apply).observe(grid, { childList: true });
    apply();
  }

  function setUpSelectors() {
    document.querySelectorAll("select[data-views-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  function start() {
    document.querySelectorAll("[data-views-dag]").forEach(setUpGrid);
    setUpSelectors();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
