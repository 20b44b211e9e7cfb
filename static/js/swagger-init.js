// Starts Swagger UI on /api/docs/ (templates/portal/swagger_ui.html). drf-spectacular inlines
// this in a <script>; our Content-Security-Policy refuses inline script, so it lives here.
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("swagger-ui");
  if (!el || !window.SwaggerUIBundle) return;
  const settings = JSON.parse(document.getElementById("swagger-settings").textContent || "{}");
  // Unsafe requests made from the page carry the CSRF token, as in drf-spectacular's own script.
  const requestInterceptor = (request) => {
    if (!["GET", undefined].includes(request.method) && request.credentials === "same-origin") {
      request.headers[el.dataset.csrfHeader] = el.dataset.csrfToken;
    }
    return request;
  };
  window.ui = window.SwaggerUIBundle({
    url: el.dataset.schemaUrl,
    dom_id: "#swagger-ui",
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor,
    ...settings,
  });
});
