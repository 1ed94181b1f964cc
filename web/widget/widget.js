/* onloan widget: on an OPAC page, for a title whose copies are all out,
 * the titles on the shelf now, the date it is expected back and a
 * reservation button. An OPAC page adds
 *
 *   <div data-onloan-record="f356" data-onloan-branch="CEN" data-onloan-lang="nl"></div>
 *   <script src="https://onloan.example.org/widget.js" defer></script>
 *
 * Attributes: data-onloan-record (required), -branch, -lang (nl, en; else
 * the page's), -catalogue, -limit, -available ("line": a short line for a
 * title on the shelf, the default; "none": nothing). Theming: the CSS
 * custom properties --onloan-* below, set on the div or any ancestor.
 *
 * It asks onloan (the origin it was loaded from) with CORS, draws into a
 * shadow root (the page's CSS and its own cannot touch each other), and
 * posts what the patron did with the answer's touchpoint token: "shown"
 * once half of it has been on screen, "click" for an alternative followed,
 * "reserve" for the button; each at most once. No other requests, no
 * global but window.Onloan: Onloan.render(el) for a div added later,
 * Onloan.scan(root) for all of them under root. */
(function () {
  "use strict";
  if (window.Onloan) return;          /* loaded twice: the first one works */

  var BASE = baseUrl();
  var TIMEOUT_MS = 6000;
  var TEXT = {
    nl: {
      heading: "Nu uitgeleend", expected: "Verwacht terug", reserve: "Reserveer deze titel",
      shelf: "Nu in de kast", branch: "vestiging", call: "plaatskenmerk",
      location: "plek", here: "Hier", elsewhere: "Andere vestiging:",
      reasons: {
        also_borrowed: "Wie deze titel leende, leende ook deze",
        same_author: "Van dezelfde maker",
        same_subject: "Over hetzelfde onderwerp",
        popular: "Veel geleend"
      },
      locale: "nl-NL"
    },
    en: {
      heading: "On loan now", expected: "Expected back", reserve: "Reserve this title",
      shelf: "On the shelf now", branch: "branch", call: "call number",
      location: "location", here: "Here", elsewhere: "Other branch:",
      reasons: {
        also_borrowed: "Borrowed by people who borrowed this title",
        same_author: "By the same author",
        same_subject: "On the same subject",
        popular: "Often borrowed"
      },
      locale: "en-GB"
    }
  };

  var CSS = [
    ":host{display:block}",
    ":host([hidden]){display:none}",
    /* all: initial cuts every inherited property the page sets on the div
     * (font, colour, letter-spacing...); custom properties still pass. */
    ".box{all:initial;display:block;box-sizing:border-box;",
    "font-family:var(--onloan-font,system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif);",
    "font-size:var(--onloan-font-size,16px);line-height:1.5;color:var(--onloan-text,#1f2328);",
    "text-align:start;overflow-wrap:anywhere}",
    /* the user agent's margins and fonts off, below any rule of ours */
    ":where(.box) *{box-sizing:border-box;font:inherit;color:inherit;margin:0;padding:0}",
    ".ready{background:var(--onloan-background,#fff);border:1px solid var(--onloan-border,#d0d7de);",
    "border-radius:var(--onloan-radius,6px);padding:1em 1.25em}",
    ".ready.line{padding:.5em .9em}",
    "h2{font-size:.875em;font-weight:700;color:var(--onloan-muted,#57606a)}",
    "h3{font-size:1em;font-weight:700;margin-top:1.25em}",
    ".message{margin-top:.25em}",
    ".expected{margin-top:.5em;font-weight:700}",
    ".expected span{font-weight:400;color:var(--onloan-muted,#57606a)}",
    "button{display:inline-block;margin-top:.75em;cursor:pointer;font-weight:700;",
    "background:var(--onloan-accent,#0b5cad);color:var(--onloan-accent-text,#fff);",
    "border:2px solid var(--onloan-accent,#0b5cad);border-radius:var(--onloan-radius,6px);",
    "padding:.5em 1.1em;min-height:44px}",
    "button:hover{text-decoration:underline}",
    "a{color:var(--onloan-link,var(--onloan-accent,#0b5cad));text-decoration:underline;",
    "text-underline-offset:.15em}",
    "a:hover{text-decoration-thickness:2px}",
    "button:focus-visible,a:focus-visible{outline:3px solid var(--onloan-focus,var(--onloan-accent,#0b5cad));",
    "outline-offset:2px}",
    "ul{list-style:none;display:grid;gap:.75em;margin-top:.5em;",
    "grid-template-columns:repeat(auto-fill,minmax(15em,1fr))}",
    "li{display:block;border-top:1px solid var(--onloan-border,#d0d7de);padding-top:.5em}",
    ".alt-title{font-weight:700}",
    ".meta,.why,.where{display:block;font-size:.875em}",
    ".meta,.why{color:var(--onloan-muted,#57606a)}",
    ".here{display:inline-block;font-weight:700;font-size:.8125em;padding:0 .4em;margin-right:.35em;",
    "border:1px solid currentColor;border-radius:3px}",
    ".vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);",
    "clip-path:inset(50%);white-space:nowrap}",
    ".calm{color:var(--onloan-muted,#57606a)}"
  ].join("");

  var sheet = null;
  var states = typeof WeakMap === "function" ? new WeakMap() : null;

  function baseUrl() {
    var s = document.currentScript, all, i;
    if (!s || !s.src) {
      all = document.getElementsByTagName("script");
      for (i = all.length - 1; i >= 0 && !s; i--)
        if (/\/widget\.js(?:[?#]|$)/.test(all[i].src)) s = all[i];
    }
    if (!s || !s.src) return null;
    var u = new URL(s.src, document.baseURI);
    return u.origin + u.pathname.replace(/\/[^\/]*$/, "");
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  /* Only http(s) links, whatever an answer holds. */
  function safeUrl(u) {
    try {
      var p = new URL(u, document.baseURI);
      return p.protocol === "https:" || p.protocol === "http:" ? p.href : null;
    } catch (e) {
      return null;
    }
  }

  function formatDate(iso, t) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    if (!m) return iso;
    try {
      return new Intl.DateTimeFormat(t.locale, {day: "numeric", month: "long", year: "numeric",
        timeZone: "UTC"}).format(new Date(Date.UTC(+m[1], m[2] - 1, +m[3])));
    } catch (e) {
      return iso;
    }
  }

  function styleRoot(root) {
    try {
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
      }
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.appendChild(el("style", null, CSS));
    }
  }

  /* Posts one outcome, once per (type, record) of this answer; the
   * promise settles when it is sent (or failed: it is not sent again). */
  function post(st, type, record) {
    var key = type + " " + (record || "");
    if (!st.touchpoint || !st.token || st.posted[key]) return Promise.resolve();
    st.posted[key] = true;
    var body = {type: type, token: st.token};
    if (record) body.record = record;
    try {
      return fetch(BASE + "/v1/touchpoints/" + encodeURIComponent(st.touchpoint) + "/events", {
        method: "POST", mode: "cors", credentials: "omit", keepalive: true,
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)
      }).then(function () {}, function () {});
    } catch (e) {
      return Promise.resolve();
    }
  }

  /* "shown" once half the block (or half the screen of it) is on screen
   * in a visible tab. */
  function watchShown(st) {
    if (typeof IntersectionObserver !== "function") return;
    var io = new IntersectionObserver(function (entries) {
      for (var i = 0; i < entries.length; i++) {
        var e = entries[i], vh = window.innerHeight || document.documentElement.clientHeight;
        if (st.done || !e.isIntersecting || document.visibilityState === "hidden") continue;
        if (e.intersectionRatio >= 0.5 || e.intersectionRect.height >= vh / 2) {
          st.stop();
          post(st, "shown");
        }
      }
    }, {threshold: [0, 0.25, 0.5, 0.75, 1]});
    function again() {
      if (document.visibilityState === "visible") {
        io.unobserve(st.host);
        io.observe(st.host);
      }
    }
    io.observe(st.host);
    document.addEventListener("visibilitychange", again);
    st.stop = function () {
      st.done = true;
      io.disconnect();
      document.removeEventListener("visibilitychange", again);
    };
  }

  /* Where a copy stands; here: at the patron's branch (a badge), false:
   * at another, null: say nothing of it. */
  function where(copy, t, here) {
    var p = el("span", "where");
    if (here) {
      p.appendChild(el("span", "here", t.here));
      p.appendChild(document.createTextNode(" "));
    }
    else if (here === false) p.appendChild(document.createTextNode(t.elsewhere + " "));
    var parts = [[t.branch, copy.branch], [t.call, copy.call_number], [t.location, copy.location]];
    var first = true;
    for (var i = 0; i < parts.length; i++) {
      if (!parts[i][1]) continue;
      if (!first) {
        var sep = el("span", null, " · ");
        sep.setAttribute("aria-hidden", "true");
        p.appendChild(sep);
      }
      p.appendChild(el("span", "vh", parts[i][0] + " "));
      p.appendChild(document.createTextNode(parts[i][1]));
      first = false;
    }
    return p;
  }

  function alternative(st, a, t) {
    var li = el("li");
    li.setAttribute("data-record", a.record);
    var url = safeUrl(a.url), title = a.title || a.record;
    if (url) {
      var link = el("a", "alt-title", title);
      link.href = url;
      link.addEventListener("click", function () { post(st, "click", a.record); });
      link.addEventListener("auxclick", function (e) {
        if (e.button === 1) post(st, "click", a.record);
      });
      li.appendChild(link);
    } else {
      li.appendChild(el("span", "alt-title", title));
    }
    var meta = [a.author, a.year].filter(Boolean).join(" · ");
    if (meta) li.appendChild(el("span", "meta", meta));
    if (a.available_at && a.available_at.length)
      li.appendChild(where(a.available_at[0], t, st.branch ? !!a.at_branch : null));
    /* the API says why in the answer's lang; the reason's label otherwise */
    var why = a.explanation || t.reasons[a.reason];
    if (why) li.appendChild(el("span", "why", why));
    return li;
  }

  function reserveButton(st, url, t) {
    var b = el("button", "reserve", t.reserve);
    b.type = "button";
    b.addEventListener("click", function () {
      var go = function () { window.location.assign(url); };
      /* keepalive lets the post outlive the page; waiting a little helps
       * browsers without it */
      Promise.race([post(st, "reserve", st.answer.record),
        new Promise(function (r) { setTimeout(r, 400); })]).then(go, go);
    });
    return b;
  }

  function draw(st, j) {
    var t = TEXT[st.lang], box = st.box, url = safeUrl(j.reserve_url);
    st.answer = j;
    st.touchpoint = j.touchpoint;
    st.token = j.touchpoint_token;
    st.host.setAttribute("data-onloan-state", j.status);
    if (j.touchpoint) st.host.setAttribute("data-onloan-touchpoint", j.touchpoint);
    box.removeAttribute("aria-busy");
    if (j.status === "available") {
      if (st.available === "none") return;
      box.className = "box ready line";
      st.live.textContent = j.message || "";
      var c = (j.copies || []).filter(function (x) { return x.status === "available"; });
      c.sort(function (x, y) { return (y.branch === st.branch) - (x.branch === st.branch); });
      if (c.length) box.appendChild(where(c[0], t, st.branch && c[0].branch === st.branch ? true : null));
    } else if (j.status === "on_loan") {
      box.className = "box ready";
      var h = el("h2", null, t.heading);
      h.id = "onloan-heading";
      box.setAttribute("aria-labelledby", h.id);
      box.insertBefore(h, st.live);
      st.live.textContent = j.message || "";
      if (j.expected_back) {
        var p = el("p", "expected"), time = el("time", null, formatDate(j.expected_back, t));
        time.setAttribute("datetime", j.expected_back);
        p.appendChild(el("span", null, t.expected + ": "));
        p.appendChild(time);
        box.appendChild(p);
      }
      if (url) box.appendChild(reserveButton(st, url, t));
      var alts = j.alternatives || [];
      if (alts.length) {
        box.appendChild(el("h3", null, t.shelf));
        var ul = el("ul");
        for (var i = 0; i < alts.length; i++) ul.appendChild(alternative(st, alts[i], t));
        box.appendChild(ul);
      }
    } else {
      box.className = "box ready line";
      st.live.className = "message calm";
      st.live.textContent = j.message || "";
      if (url) box.appendChild(reserveButton(st, url, t));
    }
    watchShown(st);
  }

  function render(host) {
    if (!host || !host.getAttribute || !BASE || typeof fetch !== "function") return;
    var record = host.getAttribute("data-onloan-record");
    var old = states && states.get(host);
    if (old) old.stop();
    if (!record) return;
    var root;
    try {
      root = host.shadowRoot || host.attachShadow({mode: "open"});
    } catch (e) {
      return;                 /* an element that cannot hold a shadow root */
    }
    root.textContent = "";
    styleRoot(root);
    var lang = (host.getAttribute("data-onloan-lang") || document.documentElement.lang || "nl")
      .slice(0, 2).toLowerCase();
    if (!TEXT[lang]) lang = "nl";
    var st = {
      host: host, lang: lang, posted: {}, done: false,
      branch: host.getAttribute("data-onloan-branch"),
      available: host.getAttribute("data-onloan-available") || "line",
      stop: function () { st.done = true; }
    };
    if (states) states.set(host, st);
    /* the box and its live region are there before the answer, so that
     * what arrives late is announced */
    st.box = el("section", "box");
    st.box.setAttribute("lang", lang);
    st.box.setAttribute("aria-busy", "true");
    st.live = el("p", "message");
    st.live.setAttribute("role", "status");
    st.box.appendChild(st.live);
    root.appendChild(st.box);
    host.setAttribute("data-onloan-state", "loading");
    host.removeAttribute("data-onloan-touchpoint");

    var q = "record=" + encodeURIComponent(record) + "&lang=" + lang + "&channel=widget";
    ["branch", "catalogue", "limit"].forEach(function (k) {
      var v = host.getAttribute("data-onloan-" + k);
      if (v) q += "&" + k + "=" + encodeURIComponent(v);
    });
    var ctl = typeof AbortController === "function" ? new AbortController() : null;
    var timer = setTimeout(function () { if (ctl) ctl.abort(); }, TIMEOUT_MS);
    fetch(BASE + "/v1/alternatives?" + q, {mode: "cors", credentials: "omit",
      signal: ctl ? ctl.signal : undefined})
      .then(function (r) {
        if (!r.ok) throw new Error(r.status === 404 ? "not_found" : "error");
        return r.json();
      })
      .then(function (j) {
        if (!st.done) draw(st, j);
      }, function (e) {
        /* nothing to say to the patron: the OPAC's own holdings stand */
        if (!st.done) host.setAttribute("data-onloan-state",
          e && e.message === "not_found" ? "not_found" : "error");
      })
      .then(function () { clearTimeout(timer); });
  }

  function scan(root) {
    var all = (root || document).querySelectorAll("[data-onloan-record]");
    for (var i = 0; i < all.length; i++)
      if (!(states && states.get(all[i]))) render(all[i]);
  }

  window.Onloan = {version: 1, render: render, scan: scan};
  if (document.readyState === "loading")
    document.addEventListener("DOMContentLoaded", function () { scan(document); });
  else
    scan(document);
})();
