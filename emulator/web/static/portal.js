/* The Entra portal's small behaviours, vendored (no CDN): the Edit attribute pane shows only the
   source field of the chosen mapping type; the log detail flyout's tabs, focus and Escape. Without scripts every
   field and every tab stays visible and usable. */
"use strict";
(function () {
  var type = document.querySelector("[data-mapping-type]");
  if (type) {
    var show = function () {
      document.querySelectorAll("[data-when]").forEach(function (block) {
        block.hidden = block.dataset.when !== type.value;
      });
    };
    type.addEventListener("change", show);
    show();
  }
  var tabs = document.querySelectorAll("[role=tab]");
  var select = function (tab, focus) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    });
    if (focus) tab.focus();
  };
  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function (event) { event.preventDefault(); select(tab, false); });
    tab.addEventListener("keydown", function (event) {
      var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (step) select(tabs[(i + step + tabs.length) % tabs.length], true);
      if (event.key === "Home") select(tabs[0], true);
      if (event.key === "End") select(tabs[tabs.length - 1], true);
    });
  });
  if (tabs.length) select(tabs[0], false);
  // Enter in a form's own search field searches (the form's default button would submit it).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.target.name !== "find" || !event.target.form) return;
    var search = event.target.form.querySelector("[data-search-button]");
    if (search) { event.preventDefault(); search.click(); }
  });
  // Escape closes an open "Delete ...?" confirmation and gives focus back to its button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.dir-confirm[open]").forEach(function (d) {
      d.open = false;
      d.querySelector("summary").focus();
    });
  });
  // A flyout opened over the page takes the focus (its alert or result is read first); the log
  // detail, which holds nothing typed, also closes with Escape.
  var flyout = document.querySelector(".flyout");
  if (flyout) {
    var first = flyout.querySelector("[role=alert], [data-tested]") || flyout.querySelector("[data-autofocus]") || tabs[0];
    if (first) {
      if (!first.matches("a, button, input, select, textarea, [tabindex]")) first.tabIndex = -1;
      first.focus();
    }
  }
  var detail = document.querySelector("[data-log-detail]");
  if (detail) {
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") detail.querySelector(".close").click();
    });
  }
  // Back from a flyout: the row it was opened from has the focus again.
  if (location.hash) {
    var row = document.getElementById(location.hash.slice(1));
    if (row && !flyout) row.focus();
  }
})();
