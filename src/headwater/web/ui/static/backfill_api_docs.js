// Starts Swagger UI on /api/v1/docs (the page may not hold inline scripts: see the CSP).
// Writes sent from "Try it out" carry the session's CSRF token, as hw.api does.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function start() {
    var root = document.getElementById("swagger-ui");
    window.ui = window.SwaggerUIBundle({
      url: root.getAttribute("data-spec-url"),
      domNode: root,
      deepLinking: true,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      validatorUrl: null, // no badge fetched from swagger.io: nothing leaves this server
      requestInterceptor: function (request) {
        var token = csrfToken();
        if (token && request.method && request.method.toUpperCase() !== "GET") {
          request.headers["X-CSRF-Token"] = token;
        }
        return request;
      },
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
