/* Maps of abandoned sites (Leaflet, no external services unless a tile URL is configured).
 *
 * <div data-mode="sites" data-config="ID">: every site matching the filter form, reloaded when htmx
 *   swaps the results list (the list and the map always show the same filtered sites).
 * <div data-mode="site" data-config="ID">: one site's geometry with the Municipio outlines.
 * The config is a json_script block written by places.views._map_config.
 */
(function () {
  "use strict";

  function readConfig(el) {
    return JSON.parse(document.getElementById(el.dataset.config).textContent);
  }

  function baseMap(el, cfg) {
    var map = L.map(el, { scrollWheelZoom: false, zoomSnap: 0.5 }).setView(cfg.center, cfg.zoom);
    if (cfg.tileUrl) {
      L.tileLayer(cfg.tileUrl, { attribution: cfg.tileAttribution || "", maxZoom: 19 }).addTo(map);
    } else {
      el.classList.add("map-no-tiles");
    }
    // Zone outlines sit below the sites whatever order the layers are added in.
    map.createPane("zones").style.zIndex = 350;
    return map;
  }

  function zoneLayer(style) {
    return L.geoJSON(null, {
      pane: "zones",
      style: style,
      interactive: true,
      onEachFeature: function (feature, layer) {
        layer.bindTooltip(feature.properties.label || feature.properties.name, { sticky: true });
      },
    });
  }

  function loadInto(layer, url) {
    return fetch(url, { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (data) {
        layer.addData(data);
        return layer;
      });
  }

  function text(tag, value, className) {
    var node = document.createElement(tag);
    node.textContent = value;
    if (className) node.className = className;
    return node;
  }

  function popupContent(p, labels) {
    var box = document.createElement("div");
    box.className = "site-popup";
    var link = document.createElement("a");
    link.href = p.url;
    link.textContent = p.name;
    var title = document.createElement("strong");
    title.appendChild(link);
    box.appendChild(title);
    if (p.is_demo) box.appendChild(text("span", " " + labels.demo, "badge demo-badge ms-1"));
    if (p.address) box.appendChild(text("div", p.address, "small"));
    var status = text("span", p.status_label, "badge status-badge");
    status.style.backgroundColor = p.color;
    var statusLine = document.createElement("div");
    statusLine.className = "my-1";
    statusLine.appendChild(status);
    box.appendChild(statusLine);
    var facts = [];
    if (p.municipio) facts.push(p.municipio + (p.nil ? " · " + p.nil : ""));
    facts.push(labels.surface + ": " + p.surface);
    facts.push(labels.cost + ": " + p.cost);
    facts.push(labels.spacesAvailable + ": " + p.spaces_available);
    facts.forEach(function (line) { box.appendChild(text("div", line, "small")); });
    var open = document.createElement("a");
    open.href = p.url;
    open.className = "small";
    open.textContent = labels.open + " →";
    box.appendChild(open);
    return box;
  }

  function siteLayer(data, labels) {
    var group = L.featureGroup();
    (data.features || []).forEach(function (f) {
      var p = f.properties;
      var popup = function () { return popupContent(p, labels); };
      if (f.geometry && f.geometry.type !== "Point") {
        L.geoJSON(f, {
          style: { color: p.color, weight: 2, fillColor: p.color, fillOpacity: 0.35, className: "site-shape" },
        }).bindPopup(popup).addTo(group);
      }
      // A marker at the site's point for every site, so small polygons stay visible at city zoom.
      L.circleMarker([p.lat, p.lon], {
        radius: 8, color: "#ffffff", weight: 2, fillColor: p.color, fillOpacity: 0.95,
        className: "site-marker site-marker-" + p.status,
      }).bindPopup(popup).bindTooltip(p.name).addTo(group);
    });
    return group;
  }

  function initSitesMap(el) {
    var cfg = readConfig(el);
    var map = baseMap(el, cfg);
    var statusLine = document.getElementById(el.id + "-status");
    var say = function (message) { if (statusLine) statusLine.textContent = message; };
    var municipi = zoneLayer({ color: "#17324d", weight: 2, fill: true, fillOpacity: 0.03, dashArray: null }).addTo(map);
    var nil = zoneLayer({ color: "#5c6f82", weight: 1, fill: false, dashArray: "4 4" });
    var sites = L.featureGroup().addTo(map);
    var overlays = {};
    overlays[cfg.labels.municipi] = municipi;
    overlays[cfg.labels.nil] = nil;
    overlays[cfg.labels.sites] = sites;
    L.control.layers(null, overlays, { collapsed: true }).addTo(map);
    var nilReady = null;
    function ensureNil() {
      if (!nilReady) {
        nilReady = loadInto(nil, cfg.zonesUrls.nil).catch(function () { nilReady = null; return null; });
      }
      return nilReady;
    }
    map.on("overlayadd", function (e) { if (e.layer === nil) ensureNil(); });
    var zonesReady = loadInto(municipi, cfg.zonesUrls.municipio).catch(function () { return null; });

    // The zone chosen in the filter is outlined in the programme's blue and framed by the map.
    var SELECTED = { color: "#0066cc", weight: 4, fill: true, fillColor: "#0066cc", fillOpacity: 0.06, dashArray: null };
    function highlight(group, id) {
      var found = null;
      group.eachLayer(function (layer) {
        group.resetStyle(layer);
        if (id && String(layer.feature.id) === String(id)) {
          layer.setStyle(SELECTED);
          layer.bringToFront();
          found = layer;
        }
      });
      return found;
    }

    function frame(count, params) {
      var bounds = count ? sites.getBounds() : null;
      var zone = highlight(municipi, params.get("municipio"));
      var nilZone = nilReady || params.get("nil") ? highlight(nil, params.get("nil")) : null;
      [zone, nilZone].forEach(function (layer) {
        if (!layer) return;
        var zoneBounds = layer.getBounds();
        bounds = bounds ? bounds.extend(zoneBounds) : L.latLngBounds(zoneBounds.getSouthWest(), zoneBounds.getNorthEast());
      });
      if (!bounds && municipi.getLayers().length) bounds = municipi.getBounds();
      // No animation: the view is settled when "ready" is announced (tests and screen readers).
      if (bounds) map.fitBounds(bounds, { padding: [40, 40], maxZoom: 14, animate: false });
    }

    var currentQuery = null;
    var requestNumber = 0;
    function loadSites(query) {
      currentQuery = query;
      var mine = ++requestNumber;
      el.setAttribute("aria-busy", "true");
      el.dataset.state = "loading";
      say(cfg.labels.loading);
      fetch(cfg.sitesUrl + (query ? "?" + query : ""), { credentials: "same-origin" })
        .then(function (r) {
          if (!r.ok) throw new Error(r.status);
          return r.json();
        })
        .then(function (data) {
          if (mine !== requestNumber) return; // a newer filter won
          sites.clearLayers();
          siteLayer(data, cfg.labels).eachLayer(function (layer) { sites.addLayer(layer); });
          var count = (data.features || []).length;
          el.dataset.siteCount = String(count);
          say(count ? cfg.labels.count.replace("%(count)s", count) : cfg.labels.none);
          var params = new URLSearchParams(query || "");
          var ready = [zonesReady];
          if (params.get("nil")) {
            if (!map.hasLayer(nil)) map.addLayer(nil);
            ready.push(ensureNil());
          }
          Promise.all(ready).then(function () {
            if (mine !== requestNumber) return;
            frame(count, params);
            el.dataset.state = "ready";
          });
        })
        .catch(function () {
          if (mine !== requestNumber) return;
          say(cfg.labels.loadError);
          el.dataset.state = "error";
        })
        .finally(function () {
          if (mine === requestNumber) el.removeAttribute("aria-busy");
        });
    }

    function queryFromResults() {
      var results = document.querySelector("#site-results [data-filter-query]");
      return results ? results.dataset.filterQuery : window.location.search.replace(/^\?/, "");
    }

    loadSites(queryFromResults());
    document.body.addEventListener("htmx:afterSettle", function (e) {
      var target = e.detail && e.detail.target;
      if (!target || target.id !== "site-results") return;
      var query = queryFromResults();
      if (query !== currentQuery) loadSites(query);
    });
  }

  function initSiteMap(el) {
    var cfg = readConfig(el);
    var map = baseMap(el, cfg);
    var municipi = zoneLayer({ color: "#17324d", weight: 2, fill: false }).addTo(map);
    var nil = zoneLayer({ color: "#5c6f82", weight: 1, fill: false, dashArray: "4 4" }).addTo(map);
    loadInto(municipi, cfg.zonesUrls.municipio).catch(function () {});
    loadInto(nil, cfg.zonesUrls.nil).catch(function () {});
    var site = cfg.site;
    var feature = { type: "Feature", geometry: site.geometry, properties: {} };
    var shape = L.geoJSON(feature, {
      // Style polygons only: L.geoJSON would otherwise restyle the point's marker too.
      style: function (f) {
        if (f.geometry.type === "Point") return {};
        return { color: site.color, weight: 3, fillColor: site.color, fillOpacity: 0.35, className: "site-shape" };
      },
      pointToLayer: function (_f, latlng) {
        return L.circleMarker(latlng, {
          radius: 10, color: "#ffffff", weight: 2, fillColor: site.color, fillOpacity: 0.95,
          className: "site-marker site-marker-" + site.status,
        });
      },
    }).bindTooltip(site.name).addTo(map);
    if (site.geometry.type === "Point") {
      map.setView([site.lat, site.lon], 14);
    } else {
      map.fitBounds(shape.getBounds(), { padding: [20, 20], maxZoom: 17 });
    }
  }

  function init() {
    if (typeof L === "undefined") return;
    document.querySelectorAll("[data-mode='sites'][data-config]").forEach(initSitesMap);
    document.querySelectorAll("[data-mode='site'][data-config]").forEach(initSiteMap);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
