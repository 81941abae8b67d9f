// The admin pages' own behaviour: testing a connection, whose answer (ok, and the hook's
// message) is shown as a toast. Everything else on these pages is declarative (app.js).
"use strict";

(function () {
  document.addEventListener("click", async function (event) {
    const target = event.target instanceof Element ? event.target : null;
    const button = target ? target.closest("[data-connection-test]") : null;
    if (!button) return;
    const connId = button.dataset.connectionTest;
    button.disabled = true;
    try {
      const answer = await window.hw.api("POST", "/api/v1/connections/" + encodeURIComponent(connId) + "/test");
      const verdict = answer.ok ? "Connection " + connId + " works" : "Connection " + connId + " failed";
      window.hw.toast(verdict + (answer.message ? ": " + answer.message : ""), answer.ok ? "success" : "error");
    } catch (err) {
      window.hw.toast(err.message, "error");
    } finally {
      button.disabled = false;
    }
  });
})();
