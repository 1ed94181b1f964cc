/* onloan kiosk: the page's behaviour (web/kiosk/kiosk.html). It asks
 * GET /v1/alternatives?channel=kiosk on this origin, shows the answer and
 * the QR code of its reservation link (GET /v1/qr, the answer's
 * touchpoint and token), posts "shown" once per answer, and returns to
 * the start after `idle` seconds (60; the page's idle= parameter, 1..3600)
 * without a touch or a key. Page parameters: branch, catalogue, lang (nl,
 * en), record (asked at once), idle. */
(function () {
  "use strict";
  var TIMEOUT_MS = 8000;
  var TEXT = {
    nl: {
      heading: "Uitgeleend? Neem iets anders mee", other: "English",
      label: "Scan of typ het nummer van de titel", search: "Zoek", again: "Opnieuw",
      hint: "Het nummer staat onder de streepjescode in de catalogus.",
      asking: "Even zoeken\u2026",
      expected: "Verwacht terug rond", available: "Deze titel staat nu in de kast.",
      allOut: "Alle exemplaren zijn uitgeleend.", noCopy: "Er is nu geen exemplaar te leen.", here: "Nu in de kast, hier:",
      hereIn: "Nu in de kast in deze vestiging", elsewhere: "In een andere vestiging",
      shelf: "Nu in de kast:", none: "We vinden nu geen andere titel in de kast.",
      reserve: "Reserveren", reserveHint: "Scan de code met uw telefoon om te reserveren.",
      qrAlt: "QR-code van de reserveringslink",
      notFound: "Dit titelnummer kennen we niet. Controleer het nummer of vraag het aan de balie.",
      badInput: "Dit is geen geldig titelnummer. Het bestaat uit letters, cijfers, punten of streepjes.",
      catalogueDown: "De catalogus kan nu niet antwoorden. Vraag het aan de balie; wij helpen u graag.",
      onloanDown: "Deze zuil kan nu geen antwoord krijgen. Vraag het aan de balie; wij helpen u graag.",
      record: "Titelnummer", locale: "nl-NL"
    },
    en: {
      heading: "On loan? Take something else", other: "Nederlands",
      label: "Scan or type the title's number", search: "Search", again: "Start again",
      hint: "The number is under the barcode in the catalogue.",
      asking: "Looking\u2026",
      expected: "Expected back around", available: "This title is on the shelf now.",
      allOut: "All copies are on loan.", noCopy: "No copy can be borrowed right now.", here: "On the shelf here now:",
      hereIn: "On the shelf at this branch now", elsewhere: "At another branch",
      shelf: "On the shelf now:", none: "We find no other title on the shelf right now.",
      reserve: "Reserve", reserveHint: "Scan the code with your phone to reserve it.",
      qrAlt: "QR code of the reservation link",
      notFound: "We do not know this title number. Check the number or ask at the desk.",
      badInput: "This is not a title number. It has letters, digits, dots or dashes.",
      catalogueDown: "The catalogue cannot answer right now. Please ask at the desk; we are glad to help.",
      onloanDown: "This kiosk cannot get an answer right now. Please ask at the desk; we are glad to help.",
      record: "Title number", locale: "en-GB"
    }
  };

  var params = new URLSearchParams(location.search);
  var branch = params.get("branch") || "";
  var catalogue = params.get("catalogue") || "";
  var lang = params.get("lang") === "en" ? "en" : "nl";
  var idleS = parseInt(params.get("idle") || "60", 10);
  if (!(idleS >= 1 && idleS <= 3600)) idleS = 60;
  var current = null;         /* the answer shown, if any */
  var asked = 0;              /* requests started: a late reply of an old one is dropped */
  var idleTimer = null;

  function $(id) { return document.getElementById(id); }
  function t() { return TEXT[lang]; }

  function setText(id, s) { $(id).textContent = s; }

  function applyLanguage() {
    var w = t();
    document.documentElement.lang = lang;
    setText("heading", w.heading);
    setText("record-label", w.label);
    setText("search", w.search);
    setText("again", w.again);
    setText("hint", w.hint);
    var other = $("lang");
    other.textContent = w.other;
    other.lang = lang === "nl" ? "en" : "nl";
    if (current) showAnswer(current, false);
  }

  function state(s) { document.body.setAttribute("data-state", s); }

  function reset() {
    asked++;
    current = null;
    $("answer").hidden = true;
    $("failure").hidden = true;
    $("record").value = "";
    state("start");
    $("record").focus();
  }

  function touched() {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(function () {
      idleTimer = null;
      if (document.body.getAttribute("data-state") !== "start" || $("record").value) reset();
    }, idleS * 1000);
  }

  function fail(text, why) {
    current = null;
    $("answer").hidden = true;
    var f = $("failure");
    f.textContent = text;
    f.setAttribute("data-why", why);
    f.hidden = false;
    state("failure");
  }

  function formatDate(iso) {
    var d = new Date(iso + "T12:00:00Z");
    if (isNaN(d)) return iso;
    return d.toLocaleDateString(t().locale, { day: "numeric", month: "long", year: "numeric",
                                              timeZone: "UTC" });
  }

  /* What the answer says of the wanted title, in the page's language
   * (switching it asks nothing again: that would be another touchpoint). */
  function statusLine(j) {
    var w = t();
    if (j.status === "available") return w.available;
    var out = (j.copies || []).some(function (c) { return c.status === "on_loan"; });
    var s = out ? w.allOut : w.noCopy;
    if (j.expected_back) s += " " + w.expected + " " + formatDate(j.expected_back) + ".";
    return s;
  }

  function place(a) {
    var at = (a.available_at || [])[0];
    if (!at) return "";
    var parts = [at.call_number, at.location].filter(Boolean).join(", ");
    return a.at_branch ? parts : at.branch + (parts ? ": " + parts : "");
  }

  function showAnswer(j, fresh) {
    var w = t();
    current = j;
    $("failure").hidden = true;
    if (j.status === "unknown") {
      fail(w.catalogueDown, "catalogue");
      return;
    }
    setText("title", j.title || w.record + " " + j.record);
    setText("by", [j.author, j.year].filter(Boolean).join(", "));
    setText("message", statusLine(j));
    var list = $("alternatives");
    list.textContent = "";
    var alts = j.alternatives || [];
    var sorted = alts.filter(function (a) { return a.at_branch; })
      .concat(alts.filter(function (a) { return !a.at_branch; }));
    sorted.forEach(function (a) {
      var li = document.createElement("li");
      li.setAttribute("data-record", a.record);
      li.setAttribute("data-at-branch", a.at_branch ? "1" : "0");
      var tt = document.createElement("span");
      tt.className = "t";
      tt.textContent = a.title + (a.year ? " (" + a.year + ")" : "");
      var wh = document.createElement("span");
      wh.className = "where";
      wh.textContent = (a.at_branch ? w.hereIn : w.elsewhere) + ": " + place(a);
      li.appendChild(tt);
      li.appendChild(wh);
      list.appendChild(li);
    });
    setText("here-heading", alts.length ? (branch ? w.here : w.shelf) : w.none);
    var reserve = $("reserve");
    if (j.status === "on_loan" && j.reserve_url && j.touchpoint && j.touchpoint_token) {
      var q = "/v1/qr?touchpoint=" + encodeURIComponent(j.touchpoint) +
              "&token=" + encodeURIComponent(j.touchpoint_token);
      var img = $("qr");
      if (img.getAttribute("src") !== q) img.src = q;
      img.alt = w.qrAlt;
      img.setAttribute("data-link", j.reserve_url);
      setText("reserve-heading", w.reserve);
      setText("reserve-hint", w.reserveHint);
      reserve.classList.remove("hidden");
    } else {
      reserve.classList.add("hidden");
    }
    $("answer").hidden = false;
    state("answer");
    if (fresh && j.touchpoint && j.touchpoint_token) shown(j);
  }

  function shown(j) {
    fetch("/v1/touchpoints/" + encodeURIComponent(j.touchpoint) + "/events", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ type: "shown", token: j.touchpoint_token })
    }).catch(function () { /* counted or not, the patron sees the same */ });
  }

  function ask(record) {
    var mine = ++asked;
    var q = new URLSearchParams({ record: record, channel: "kiosk", lang: lang });
    if (branch) q.set("branch", branch);
    if (catalogue) q.set("catalogue", catalogue);
    $("failure").hidden = true;
    state("asking");
    setText("hint", t().asking);
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, TIMEOUT_MS);
    fetch("/v1/alternatives?" + q.toString(), { signal: ctl.signal })
      .then(function (r) {
        return r.json().then(function (j) { return { status: r.status, body: j }; },
                             function () { return { status: r.status, body: null }; });
      })
      .then(function (r) {
        if (mine !== asked) return;
        clearTimeout(timer);
        setText("hint", t().hint);
        if (r.status === 200 && r.body) showAnswer(r.body, true);
        else if (r.status === 404) fail(t().notFound, "not_found");
        else if (r.status === 400) fail(t().badInput, "bad_input");
        else if (r.status === 503 && r.body && /^catalogue_/.test(r.body.reason || ""))
          fail(t().catalogueDown, "catalogue");
        else fail(t().onloanDown, "onloan");
      }, function () {
        if (mine !== asked) return;
        clearTimeout(timer);
        setText("hint", t().hint);
        fail(t().onloanDown, "onloan");
      });
  }

  $("ask").addEventListener("submit", function (e) {
    e.preventDefault();
    var v = $("record").value.trim();
    if (v) ask(v);
  });
  $("again").addEventListener("click", reset);
  $("lang").addEventListener("click", function () {
    lang = lang === "nl" ? "en" : "nl";
    applyLanguage();
  });
  ["pointerdown", "keydown", "input", "touchstart"].forEach(function (ev) {
    document.addEventListener(ev, touched, { passive: true });
  });

  applyLanguage();
  touched();
  var first = params.get("record");
  if (first) {
    $("record").value = first;
    ask(first);
  } else {
    $("record").focus();
  }
})();
