/* Calls pages: countdowns on server time, character counters, unsaved-changes and network-error
 * notes for the sections that save on their own, one-click submit, and the map of offered spaces.
 * Everything works without this file: deadlines are printed, forms post normally.
 */
(function () {
  "use strict";

  var messages = {};
  function loadMessages() {
    var node = document.getElementById("calls-messages");
    if (node) messages = JSON.parse(node.textContent);
  }
  function msg(key, fallback) { return messages[key] || fallback; }

  // --- countdowns --------------------------------------------------------------------------------
  // The server writes its own "now": the offset corrects a wrong clock on the applicant's computer.
  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function formatLeft(ms) {
    var s = Math.floor(ms / 1000);
    var days = Math.floor(s / 86400); s -= days * 86400;
    var hours = Math.floor(s / 3600); s -= hours * 3600;
    var minutes = Math.floor(s / 60); s -= minutes * 60;
    var text = pad(hours) + ":" + pad(minutes) + ":" + pad(s);
    if (days > 0) text = days + " " + (days === 1 ? msg("day", "day") : msg("days", "days")) + " " + text;
    return text;
  }

  function serverOffset(el) {
    var server = Date.parse(el.dataset.serverNow || "");
    return isNaN(server) ? 0 : server - Date.now();
  }

  function startCountdown(el) {
    if (el.dataset.started) return;
    el.dataset.started = "1";
    var target = Date.parse(el.dataset.target);
    var offset = serverOffset(el);
    var out = el.querySelector("[data-countdown-text]");
    if (isNaN(target) || !out) return;
    function tick() {
      var left = target - (Date.now() + offset);
      if (left <= 0) {
        out.textContent = el.dataset.overText || "";
        el.classList.add("countdown-over");
        return;
      }
      out.textContent = formatLeft(left);
      window.setTimeout(tick, 1000 - ((Date.now() + offset) % 1000) + 5);
    }
    tick();
  }

  // A submit button that becomes usable at the opening instant (by server time).
  function startEnableAt(el) {
    if (el.dataset.started) return;
    el.dataset.started = "1";
    var target = Date.parse(el.dataset.enableAt);
    var wait = target - (Date.now() + serverOffset(el));
    function enable() {
      el.disabled = false;
      el.removeAttribute("aria-disabled");
      var note = document.getElementById(el.dataset.noteId || "");
      if (note && el.dataset.openText) note.textContent = el.dataset.openText;
    }
    if (isNaN(target)) return;
    if (wait <= 0) enable(); else window.setTimeout(enable, Math.min(wait, 2147483000));
  }

  // --- character counters ------------------------------------------------------------------------
  function updateCounter(input) {
    var counter = document.getElementById(input.id + "-counter");
    if (!counter) return;
    var limit = parseInt(input.dataset.limit, 10);
    var count = input.value.length;
    counter.textContent = msg("characters", "%(count)s / %(limit)s characters")
      .replace("%(count)s", count).replace("%(limit)s", limit);
    counter.classList.toggle("over", count > limit);
  }

  // --- sections that save on their own -----------------------------------------------------------
  function statusOf(form) { return form.querySelector("[data-save-status]"); }

  function setStatus(form, className, text) {
    var status = statusOf(form);
    if (!status) return;
    status.className = "save-status " + className;
    status.textContent = text;
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-limit]")) updateCounter(target);
    var form = target.closest && target.closest("form[data-section-form]");
    if (form && !form.dataset.dirty) {
      form.dataset.dirty = "1";
      setStatus(form, "dirty", msg("unsaved", "Unsaved changes: press Save."));
    }
  });

  function failed(event) {
    var form = event.detail && event.detail.elt && event.detail.elt.closest("form");
    if (!form) return;
    // htmx swaps nothing on a failure, so what was typed stays on the page.
    var text = event.type === "htmx:sendError"
      ? msg("network", "Not saved: the connection failed. What you typed is still here: press Save again.")
      : msg("server", "Not saved: the server answered with an error. What you typed is still here: try again in a moment.");
    setStatus(form, "failed", text);
    form.dataset.dirty = "1";
  }
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:timeout", failed);

  window.addEventListener("beforeunload", function (event) {
    if (document.querySelector("form[data-section-form][data-dirty]")) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // --- one-click submit --------------------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sectionForm !== undefined) delete form.dataset.dirty;
    if (form.dataset.submitOnce === undefined) return;
    if (form.dataset.sending) { event.preventDefault(); return; }
    var unsaved = document.querySelectorAll("form[data-section-form][data-dirty]");
    if (unsaved.length && !window.confirm(msg("unsavedSubmit",
        "Some changes are not saved and would not be part of the submission. Submit anyway?"))) {
      event.preventDefault();
      return;
    }
    unsaved.forEach(function (f) { delete f.dataset.dirty; });
    form.dataset.sending = "1";
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.setAttribute("aria-disabled", "true");
      button.classList.add("disabled");
      button.textContent = msg("sending", "Sending…");
    }
  });
  // Back/forward cache: a page shown again must be usable again (the token makes a retry safe).
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sending]").forEach(function (form) { delete form.dataset.sending; });
  });

  // --- map of offered spaces ---------------------------------------------------------------------
  function startMap(el) {
    if (el.dataset.started || typeof L === "undefined") return;
    el.dataset.started = "1";
    var cfg = JSON.parse(document.getElementById(el.dataset.config).textContent);
    var map = L.map(el, { scrollWheelZoom: false }).setView(cfg.center, cfg.zoom);
    if (cfg.tileUrl) {
      L.tileLayer(cfg.tileUrl, { attribution: cfg.tileAttribution || "", maxZoom: 19 }).addTo(map);
    } else {
      el.classList.add("map-no-tiles");
    }
    if (cfg.zonesUrl) {
      // Municipi outlines give the markers a context when no tile layer is configured.
      map.createPane("zones").style.zIndex = 350;
      fetch(cfg.zonesUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          L.geoJSON(data, {
            pane: "zones", interactive: true,
            style: { color: "#5c6f82", weight: 1, fillColor: "#d4e3f5", fillOpacity: 0.25 },
            onEachFeature: function (f, layer) { layer.bindTooltip(f.properties.label || f.properties.name, { sticky: true }); },
          }).addTo(map);
        })
        .catch(function () {});
    }
    var bounds = [];
    cfg.markers.forEach(function (m) {
      var box = document.createElement("div");
      var link = document.createElement("a");
      link.href = m.url;
      link.textContent = m.name;
      var title = document.createElement("strong");
      title.appendChild(link);
      box.appendChild(title);
      if (m.address) {
        var address = document.createElement("div");
        address.className = "small";
        address.textContent = m.address;
        box.appendChild(address);
      }
      var list = document.createElement("ul");
      list.className = "small mb-0 ps-3";
      m.spaces.forEach(function (line) {
        var item = document.createElement("li");
        item.textContent = line;
        list.appendChild(item);
      });
      box.appendChild(list);
      L.circleMarker([m.lat, m.lon], { radius: 9, color: "#fff", weight: 2, fillColor: "#0066cc", fillOpacity: 0.95 })
        .bindPopup(box).bindTooltip(m.name).addTo(map);
      bounds.push([m.lat, m.lon]);
    });
    if (bounds.length > 1) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15 });
    else if (bounds.length === 1) map.setView(bounds[0], 15);
  }

  function init(root) {
    root.querySelectorAll("[data-countdown]").forEach(startCountdown);
    root.querySelectorAll("[data-enable-at]").forEach(startEnableAt);
    root.querySelectorAll("[data-limit]").forEach(updateCounter);
    root.querySelectorAll("[data-call-map]").forEach(startMap);
  }

  document.addEventListener("DOMContentLoaded", function () { loadMessages(); init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt.parentNode || document); });
})();
