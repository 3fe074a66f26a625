/*
 * Render the book's diagrams with the vendored mermaid, never a CDN.
 *
 * A ```mermaid fence becomes <div class="diagram">source</div> (see the
 * superfences custom fence in mkdocs.yml). mermaid.min.js (mermaid 11.17.2,
 * `npm pack mermaid@11.17.2`, MIT, see mermaid.LICENSE) is loaded just
 * before this file and defines the global `mermaid`. We render into the
 * light DOM, so the SVG is part of the page (and a test can see it).
 *
 * The class is "diagram", not "mermaid", on purpose: mkdocs-material takes
 * every <pre class="mermaid"> itself and, if it finds no global mermaid,
 * fetches one from a CDN.
 */
(function () {
  "use strict";

  function theme() {
    var scheme = document.body && document.body.getAttribute("data-md-color-scheme");
    return scheme === "slate" ? "dark" : "default";
  }

  function renderDiagrams() {
    if (typeof window.mermaid === "undefined") {
      console.error("diagrams.js: mermaid.min.js did not load; diagrams stay as text");
      return;
    }
    var nodes = document.querySelectorAll("div.diagram:not([data-processed])");
    if (nodes.length === 0) {
      return;
    }
    window.mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: theme(),
      // Readable text when a wide sequence diagram is scaled to the page.
      sequence: { actorFontSize: 16, messageFontSize: 16, noteFontSize: 16 },
    });
    window.mermaid.run({ nodes: nodes }).catch(function (err) {
      console.error("diagrams.js: a diagram failed to render:", err);
    });
  }

  // mkdocs-material publishes `document$`, which emits on every page load,
  // including instant navigation; plain DOMContentLoaded covers the rest.
  if (typeof window.document$ !== "undefined") {
    window.document$.subscribe(renderDiagrams);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", renderDiagrams);
  } else {
    renderDiagrams();
  }
})();
