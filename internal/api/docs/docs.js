// Starts Swagger UI on the API's document. In a file of its own, not inline,
// so the page keeps a script-src 'self' Content-Security-Policy.
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: new URL(root.dataset.url, document.baseURI).href,
    domNode: root,
    deepLinking: true,
    // The document is served from here; the validator badge would send it
    // to swagger.io.
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
  });
})();
