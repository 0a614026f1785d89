/* The consoles' small behaviours, vendored (no CDN): copy buttons, the edit-row toggle,
   closing ⋮ menus, and the live list of SCIM requests. */
"use strict";
(function () {
  function copy(text, button) {
    var done = function () {
      var note = document.querySelector("[data-copied]");
      if (note) note.hidden = false;
      if (button) button.textContent = "Copied";
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else {
      fallback(text);
      done();
    }
  }
  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
    area.remove();
  }
  document.addEventListener("click", function (event) {
    var target = event.target.closest("button");
    if (!target) {
      document.querySelectorAll("details.menu[open]").forEach(function (d) {
        if (!d.contains(event.target)) d.open = false;
      });
      return;
    }
    if (target.getAttribute("aria-disabled") === "true") { event.preventDefault(); return; }
    if (target.dataset.copyFrom) {
      copy(document.getElementById(target.dataset.copyFrom).value, target);
    } else if (target.dataset.copy) {
      copy(target.dataset.copy, target);
    } else if (target.dataset.toggle) {
      var row = document.getElementById(target.dataset.toggle);
      row.hidden = !row.hidden;
      var menu = target.closest("details");
      if (menu) menu.open = false;
      if (!row.hidden) row.querySelector("input:not([type=hidden])").focus();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      d.open = false;
      d.querySelector("summary").focus();
    });
  });

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function body(value) {
    return value === null || value === undefined ? "(none)" : JSON.stringify(value, null, 2);
  }
  function render(e) {
    var d = el("details", "exchange");
    d.dataset.seq = e.seq;
    var s = el("summary");
    s.append(el("span", "method", e.method), " ", el("code", "path", e.path), " ",
      el("span", "status s" + Math.floor(e.status / 100) + "xx", String(e.status)), " ",
      el("span", "muted", e.time));
    d.append(s, el("h3", "", "Request body"), el("pre", "", body(e.request && e.request.body)),
      el("h3", "", "Response body"), el("pre", "", body(e.response && e.response.body)));
    return d;
  }
  var list = document.getElementById("exchanges");
  if (list) {
    var status = document.getElementById("live-status");
    var poll = function () {
      var since = list.dataset.since || "0";
      fetch(list.dataset.feed + "?since=" + encodeURIComponent(since), { headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) {
          status.textContent = "Live.";
          var empty = document.getElementById("no-exchanges");
          data.exchanges.forEach(function (e) {
            if (empty) { empty.remove(); empty = null; }
            list.prepend(render(e));
            list.dataset.since = String(Math.max(Number(list.dataset.since || 0), e.seq));
          });
        })
        .catch(function () { status.textContent = "Could not refresh; retrying."; })
        .finally(function () { setTimeout(poll, 1000); });
    };
    setTimeout(poll, 1000);
  }
})();
