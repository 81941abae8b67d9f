// The token form of /admin/tokens: a new token is shown once, as text, in the page (never
// in a URL, never stored by the page). Uses hw.api of app.js (JSON, CSRF header).
(function () {
  "use strict";
  var form = document.querySelector("form[data-token-form]");
  if (!form) {
    return;
  }
  var shown = document.getElementById("new-token");
  var value = document.getElementById("new-token-value");
  var problem = document.getElementById("new-token-error");

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    var body = { name: String(data.get("name") || "") };
    var days = String(data.get("expires_in_days") || "");
    if (days) {
      body.expires_in_days = Number(days);
    }
    if (data.has("username")) {
      body.username = String(data.get("username"));
    }
    problem.hidden = true;
    window.hw.api("POST", form.getAttribute("data-token-form"), body).then(
      function (created) {
        value.textContent = created.token;
        shown.hidden = false;
        form.reset();
      },
      function (error) {
        problem.textContent = error.message;
        problem.hidden = false;
      }
    );
  });
})();
