// Swagger UI over this server's OpenAPI document. The document names 127.0.0.1:8080 as its
// server; "Try it out" must call the server that served this page, whatever its address.
"use strict";
fetch("/openapi.json")
  .then((response) => response.json())
  .then((spec) => {
    spec.servers = [{ url: window.location.origin }];
    window.ui = SwaggerUIBundle({ spec, dom_id: "#swagger-ui", deepLinking: true });
  })
  .catch((error) => {
    document.getElementById("swagger-ui").textContent = "Cannot load /openapi.json: " + error;
  });
