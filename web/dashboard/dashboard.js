/* dashboard.js: the marketing dashboard (GET /dashboard). It asks once
 * for an API key with the role report (kept in sessionStorage: this tab
 * only, gone when it closes), reads the report API (GET
 * /v1/reports/outcomes grouped as each section needs, and
 * /v1/reports/goals) for one date range, and shows the numbers as the
 * API gives them: every figure carries data-metric (the API's counter or
 * rate name), data-value (the API's number; empty for null) and the keys
 * of its row (data-day, data-branch, data-channel, data-arm, data-goal,
 * data-week, data-span). Tables hold the numbers; the charts (Chart.js,
 * served by onloand as /chart.js) draw the same ones. CSV downloads are
 * the API's own CSV of a section. Dutch and English. */
(function () {
  'use strict';

  var KEY_STORE = 'onloan.reportKey';
  var LANG_STORE = 'onloan.dashboardLang';
  var COUNTERS = ['touchpoints', 'on_loan', 'with_alternatives', 'shown', 'click', 'reserve',
                  'borrow', 'dismiss', 'attributed_borrow', 'attributed_reserve',
                  'attributed_borrow_wanted'];
  var RATES = ['click_rate', 'reserve_rate', 'alternative_borrow_rate'];
  var FUNNEL = ['on_loan', 'shown', 'click', 'reserve', 'borrow', 'attributed_borrow'];
  /* the columns of the tables by day, branch, channel and arm */
  var TABLE_COUNTERS = ['touchpoints', 'on_loan', 'shown', 'click', 'reserve', 'borrow',
                        'attributed_borrow'];
  var COLOURS = ['#1f5fa8', '#b34700', '#2e7d32', '#6a1b9a', '#8a6d00', '#00695c'];

  var TEXT = {
    nl: {
      skip: 'Naar de cijfers', title: 'Wat deden de tips?', logout: 'Sleutel vergeten',
      other: 'English', otherLang: 'en',
      keyTitle: 'Rapportsleutel',
      keyHelp: 'Een API-sleutel met de rol report. Hij blijft alleen in dit tabblad bewaard.',
      keyLabel: 'Sleutel', keySubmit: 'Openen', from: 'Van', to: 'Tot en met', show: 'Toon',
      totalTitle: 'Totaal', funnelTitle: 'Van uitgeleend tot geleend', dayTitle: 'Per dag',
      branchTitle: 'Per vestiging', channelTitle: 'Per kanaal',
      armTitle: 'Experiment: de varianten naast elkaar',
      armHelp: 'Elk percentage met zijn 95 %-interval; het verschil met de referentievariant ook.',
      goalsTitle: 'Doelen', csv: 'CSV downloaden',
      loading: 'Cijfers worden gelezen…', shownRange: 'Cijfers van %from tot en met %to.',
      badKey: 'Deze sleutel wordt niet aanvaard: %e', askKey: 'Geef een sleutel met de rol report.',
      failed: 'De cijfers konden niet worden gelezen: %e', badRange: 'Dit bereik kan niet: %e',
      csvFailed: 'De CSV kon niet worden gemaakt: %e', csvDone: 'CSV gedownload: %f',
      none: '(geen)', outside: '(buiten experimenten)', reference: 'referentie',
      noRows: 'Niets geteld in dit bereik.', noArms: 'Geen experiment in dit bereik.',
      noGoals: 'Er zijn geen doelen ingesteld.',
      day: 'Dag', branch: 'Vestiging', channel: 'Kanaal', arm: 'Variant', week: 'Week',
      stage: 'Stap', count: 'Aantal', interval: '95 %-interval',
      touchpoints: 'Antwoorden', on_loan: 'Uitgeleend', with_alternatives: 'Met tips',
      shown: 'Getoond', click: 'Tip gekozen', reserve: 'Gereserveerd', borrow: 'Geleend (OPAC)',
      dismiss: 'Weggeklikt', attributed_borrow: 'Tip later geleend',
      attributed_reserve: 'Later gereserveerd', attributed_borrow_wanted: 'Titel later geleend',
      click_rate: 'Klikratio', reserve_rate: 'Reserveerratio',
      alternative_borrow_rate: 'Leenratio tips', difference: 'verschil met %r',
      target: 'Doel', by: 'Uiterlijk', days_left: 'Dagen te gaan', current: 'Sinds %d',
      recent: 'Laatste 28 dagen', on_track: 'Op koers', met: 'Gehaald', yes: 'ja', no: 'nee',
      unknown: 'onbekend', segment: 'Segment', all: 'alles', weeks: 'Per week',
      funnelLabel: 'Staafdiagram: %s.', dayLabel: 'Staafdiagram per dag: antwoorden en uitgeleend.',
      dayRatesLabel: 'Lijndiagram per dag: klik-, reserveer- en leenratio.',
      branchLabel: 'Staafdiagram per vestiging: klik- en reserveerratio.',
      armLabel: 'Per variant elke ratio met zijn 95 %-interval.',
      goalLabel: 'Lijndiagram per week van %m tegen het doel %t.'
    },
    en: {
      skip: 'Skip to the figures', title: 'What did the suggestions do?', logout: 'Forget key',
      other: 'Nederlands', otherLang: 'nl',
      keyTitle: 'Report key',
      keyHelp: 'An API key with the role report. It is kept in this tab only.',
      keyLabel: 'Key', keySubmit: 'Open', from: 'From', to: 'To (included)', show: 'Show',
      totalTitle: 'Total', funnelTitle: 'From on loan to borrowed', dayTitle: 'By day',
      branchTitle: 'By branch', channelTitle: 'By channel',
      armTitle: 'Experiment: the arms side by side',
      armHelp: 'Each rate with its 95 % interval; the difference to the reference arm too.',
      goalsTitle: 'Goals', csv: 'Download CSV',
      loading: 'Reading the figures…', shownRange: 'Figures from %from to %to (included).',
      badKey: 'This key is not accepted: %e', askKey: 'Give a key with the role report.',
      failed: 'The figures could not be read: %e', badRange: 'This range is not possible: %e',
      csvFailed: 'The CSV could not be made: %e', csvDone: 'CSV downloaded: %f',
      none: '(none)', outside: '(outside experiments)', reference: 'reference',
      noRows: 'Nothing counted in this range.', noArms: 'No experiment in this range.',
      noGoals: 'No goals are set.',
      day: 'Day', branch: 'Branch', channel: 'Channel', arm: 'Arm', week: 'Week',
      stage: 'Step', count: 'Count', interval: '95 % interval',
      touchpoints: 'Answers', on_loan: 'On loan', with_alternatives: 'With suggestions',
      shown: 'Shown', click: 'Suggestion clicked', reserve: 'Reserved', borrow: 'Borrowed (OPAC)',
      dismiss: 'Dismissed', attributed_borrow: 'Suggestion borrowed later',
      attributed_reserve: 'Reserved later', attributed_borrow_wanted: 'Title borrowed later',
      click_rate: 'Click rate', reserve_rate: 'Reserve rate',
      alternative_borrow_rate: 'Suggestion borrow rate', difference: 'difference to %r',
      target: 'Target', by: 'By', days_left: 'Days left', current: 'Since %d',
      recent: 'Last 28 days', on_track: 'On track', met: 'Met', yes: 'yes', no: 'no',
      unknown: 'unknown', segment: 'Segment', all: 'all', weeks: 'By week',
      funnelLabel: 'Bar chart: %s.', dayLabel: 'Bar chart by day: answers and on loan.',
      dayRatesLabel: 'Line chart by day: click, reserve and suggestion borrow rates.',
      branchLabel: 'Bar chart by branch: click and reserve rates.',
      armLabel: 'Each rate of each arm with its 95 % interval.',
      goalLabel: 'Line chart by week of %m against the target %t.'
    }
  };

  var lang = 'nl';
  var data = null;          /* the last answers: {range, total, day, branch, channel, arm, goals} */
  var charts = [];
  var busy = false;

  function $(id) { return document.getElementById(id); }
  function t(k) { return TEXT[lang][k] || k; }
  function fill(s, vars) {
    return s.replace(/%(\w+)/g, function (m, k) { return k in vars ? vars[k] : m; });
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {})
      if (attrs[k] !== null && attrs[k] !== undefined)
        e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null)
      e.textContent = text;
    return e;
  }
  function say(msg) { $('status').textContent = msg; }

  /* ---------------------------------------------------------------- numbers */

  function number(v) {
    return new Intl.NumberFormat(lang === 'nl' ? 'nl-NL' : 'en-GB').format(v);
  }
  function percent(v) {
    return new Intl.NumberFormat(lang === 'nl' ? 'nl-NL' : 'en-GB',
      {minimumFractionDigits: 1, maximumFractionDigits: 1}).format(v * 100) + ' %';
  }
  function raw(v) { return v === null || v === undefined ? '' : String(v); }

  /* A figure: the element tag with data-metric, data-value and the row's
   * keys, showing v (a counter) or an estimate {value, low, high} (a rate:
   * its value and interval), or a dash for null. */
  function figure(tag, metric, v, keys) {
    var attrs = {'data-metric': metric};
    for (var k in keys || {})
      attrs['data-' + k] = raw(keys[k]);
    var e;
    if (v !== null && typeof v === 'object') {
      attrs['data-value'] = raw(v.value);
      attrs['data-low'] = raw(v.low);
      attrs['data-high'] = raw(v.high);
      e = el(tag, attrs);
      e.appendChild(el('span', {'class': 'v'}, v.value === null ? '–' : percent(v.value)));
      if (v.low !== null && v.high !== null)
        e.appendChild(el('span', {'class': 'ci', 'title': t('interval')},
                         ' ' + percent(v.low) + ' – ' + percent(v.high)));
    } else {
      attrs['data-value'] = raw(v);
      e = el(tag, attrs, v === null || v === undefined ? '–' : number(v));
    }
    return e;
  }

  /* ---------------------------------------------------------------- the API */

  function key() { return sessionStorage.getItem(KEY_STORE); }

  /* GET path with the key: the Response when 200; else it rejects with
   * {status, field, error} (the API's error body). */
  function get(path) {
    return fetch(path, {headers: {'Authorization': 'Bearer ' + key()}, cache: 'no-store',
                        credentials: 'omit', referrerPolicy: 'no-referrer'})
      .then(function (r) {
        if (r.ok)
          return r;
        return r.json().catch(function () { return {}; }).then(function (b) {
          throw {status: r.status, field: b.field || null, error: b.error || r.statusText};
        });
      }, function (e) {
        throw {status: 0, field: null, error: String(e && e.message || e)};
      });
  }
  function getJSON(path) { return get(path).then(function (r) { return r.json(); }); }

  function outcomesPath(range, group, format) {
    var q = [];
    if (range) {
      q.push('from=' + encodeURIComponent(range.from));
      q.push('to=' + encodeURIComponent(range.to));
    }
    if (group)
      q.push('group=' + group);
    if (format)
      q.push('format=' + format);
    return '/v1/reports/outcomes' + (q.length ? '?' + q.join('&') : '');
  }

  function load(range) {
    if (busy)
      return;
    busy = true;
    say(t('loading'));
    $('board').setAttribute('aria-busy', 'true');
    /* the total first: without a range it says which one the API chose */
    getJSON(outcomesPath(range, '')).then(function (total) {
      var r = {from: total.from, to: total.to};
      return Promise.all(['day', 'branch', 'channel', 'arm'].map(function (g) {
        return getJSON(outcomesPath(r, g));
      }).concat([getJSON('/v1/reports/goals')])).then(function (all) {
        data = {range: r, total: total, day: all[0], branch: all[1], channel: all[2],
                arm: all[3], goals: all[4]};
        $('from').value = r.from;
        $('to').value = r.to;
        render();
        say(fill(t('shownRange'), {from: r.from, to: r.to}));
      });
    }).catch(function (e) {
      if (e.status === 401 || e.status === 403) {
        sessionStorage.removeItem(KEY_STORE);
        askKey(fill(t('badKey'), {e: e.error}));
      } else if (e.status === 400) {
        say(fill(t('badRange'), {e: e.error}));
        var f = e.field === 'to' ? $('to') : $('from');
        f.setAttribute('aria-invalid', 'true');
        f.focus();
      } else {
        say(fill(t('failed'), {e: e.error}));
      }
    }).then(function () {
      busy = false;
      $('board').removeAttribute('aria-busy');
    });
  }

  /* The API's CSV of a section, as a download. */
  function downloadCSV(group) {
    if (!data)
      return;
    var r = data.range;
    var name = 'onloan-outcomes' + (group ? '-' + group : '') + '-' + r.from + '-' + r.to + '.csv';
    get(outcomesPath(r, group, 'csv')).then(function (resp) {
      return resp.blob();
    }).then(function (blob) {
      var url = URL.createObjectURL(blob);
      var a = el('a', {href: url, download: name, hidden: ''});
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      say(fill(t('csvDone'), {f: name}));
    }).catch(function (e) {
      say(fill(t('csvFailed'), {e: e.error}));
    });
  }

  /* ---------------------------------------------------------------- drawing */

  function chartsGone() {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
  }

  function chart(canvasId, label, config) {
    var c = $(canvasId);
    c.setAttribute('aria-label', label);
    if (typeof window.Chart !== 'function')
      return;               /* the tables still hold every number */
    config.options = Object.assign({responsive: true, maintainAspectRatio: false,
                                    animation: false, locale: lang === 'nl' ? 'nl-NL' : 'en-GB'},
                                   config.options || {});
    charts.push(new window.Chart(c, config));
  }

  function keyText(k, v) {
    if (v === null || v === undefined)
      return k === 'arm' ? t('outside') : t('none');
    return String(v);
  }

  function header(table, cols) {
    var tr = el('tr');
    cols.forEach(function (c) { tr.appendChild(el('th', {scope: 'col'}, c)); });
    var thead = el('thead');
    thead.appendChild(tr);
    table.appendChild(thead);
  }

  /* A table of rows grouped by k: the key, the counters and the rates. */
  function groupTable(id, k, doc, withDiff) {
    var table = $(id);
    table.textContent = '';
    table.appendChild(el('caption', {'class': 'vh'}, t(k + 'Title')));
    var cols = [t(k)].concat(TABLE_COUNTERS.map(t), RATES.map(t));
    if (withDiff)
      RATES.forEach(function (m) { cols.push(t(m) + ': ' + fill(t('difference'), {r: t('reference')})); });
    header(table, cols);
    var tbody = el('tbody');
    if (!doc.rows.length) {
      var tr0 = el('tr');
      tr0.appendChild(el('td', {colspan: String(cols.length)}, withDiff ? t('noArms') : t('noRows')));
      tbody.appendChild(tr0);
    }
    doc.rows.forEach(function (row) {
      var keys = {};
      keys[k] = row[k];
      var tr = el('tr');
      tr.appendChild(el('th', {scope: 'row'}, keyText(k, row[k])));
      TABLE_COUNTERS.forEach(function (m) { tr.appendChild(figure('td', m, row[m], keys)); });
      RATES.forEach(function (m) { tr.appendChild(figure('td', m, row[m], keys)); });
      if (withDiff) {
        var d = row.difference;
        RATES.forEach(function (m) {
          var td = figure('td', m + '_difference', d ? d[m] : null, keys);
          if (d)
            td.setAttribute('data-reference', d.reference);
          tr.appendChild(td);
        });
      }
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
  }

  function renderTotal(total) {
    var dl = $('kpis');
    dl.textContent = '';
    ['touchpoints', 'on_loan', 'with_alternatives', 'shown', 'click', 'reserve', 'borrow',
     'dismiss', 'attributed_borrow', 'attributed_reserve', 'attributed_borrow_wanted']
      .concat(RATES).forEach(function (m) {
        var div = el('div', {'class': RATES.indexOf(m) >= 0 ? 'kpi rate' : 'kpi'});
        div.appendChild(el('dt', null, t(m)));
        div.appendChild(figure('dd', m, total[m]));
        dl.appendChild(div);
      });
  }

  function renderFunnel(total) {
    var table = $('t-funnel');
    table.textContent = '';
    table.appendChild(el('caption', {'class': 'vh'}, t('funnelTitle')));
    header(table, [t('stage'), t('count')]);
    var tbody = el('tbody');
    FUNNEL.forEach(function (m) {
      var tr = el('tr');
      tr.appendChild(el('th', {scope: 'row'}, t(m)));
      tr.appendChild(figure('td', m, total[m], {stage: m}));
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    chart('c-funnel', fill(t('funnelLabel'), {s: FUNNEL.map(function (m) {
      return t(m) + ' ' + number(total[m]);
    }).join(', ')}), {
      type: 'bar',
      data: {labels: FUNNEL.map(t), datasets: [{label: t('count'), data: FUNNEL.map(function (m) {
        return total[m]; }), backgroundColor: COLOURS[0]}]},
      options: {indexAxis: 'y', plugins: {legend: {display: false}}}
    });
  }

  /* Every day of the range, for the charts' axis (a day the API has no
   * row for counted nothing). */
  function days(from, to) {
    var out = [], d = new Date(from + 'T00:00:00Z'), end = new Date(to + 'T00:00:00Z');
    while (d <= end && out.length <= 800) {
      out.push(d.toISOString().slice(0, 10));
      d.setUTCDate(d.getUTCDate() + 1);
    }
    return out;
  }

  function renderDays(doc) {
    groupTable('t-day', 'day', doc, false);
    var byDay = {};
    doc.rows.forEach(function (r) { byDay[r.day] = r; });
    var labels = days(doc.from, doc.to);
    function series(m) {
      return labels.map(function (d) { return byDay[d] ? byDay[d][m] : 0; });
    }
    function rates(m) {
      return labels.map(function (d) {
        var v = byDay[d] && byDay[d][m];
        return v ? v.value * 100 : null;
      });
    }
    chart('c-day', t('dayLabel'), {
      type: 'bar',
      data: {labels: labels, datasets: [
        {label: t('touchpoints'), data: series('touchpoints'), backgroundColor: COLOURS[0]},
        {label: t('on_loan'), data: series('on_loan'), backgroundColor: COLOURS[1]}]}
    });
    chart('c-day-rates', t('dayRatesLabel'), {
      type: 'line',
      data: {labels: labels, datasets: RATES.map(function (m, i) {
        return {label: t(m) + ' (%)', data: rates(m), borderColor: COLOURS[i + 2],
                backgroundColor: COLOURS[i + 2], spanGaps: true};
      })},
      options: {scales: {y: {min: 0}}}
    });
  }

  function renderBranches(doc) {
    groupTable('t-branch', 'branch', doc, false);
    chart('c-branch', t('branchLabel'), {
      type: 'bar',
      data: {labels: doc.rows.map(function (r) { return keyText('branch', r.branch); }),
             datasets: ['click_rate', 'reserve_rate'].map(function (m, i) {
               return {label: t(m) + ' (%)', backgroundColor: COLOURS[i],
                       data: doc.rows.map(function (r) { return r[m] ? r[m].value * 100 : null; })};
             })},
      options: {scales: {y: {min: 0}}}
    });
  }

  function renderArms(doc) {
    groupTable('t-arm', 'arm', doc, true);
    var rows = doc.rows.filter(function (r) { return r.arm !== null; });
    var labels = rows.map(function (r) { return r.arm; });
    var sets = [];
    RATES.forEach(function (m, i) {
      sets.push({type: 'bar', label: t(m) + ': ' + t('interval'), backgroundColor: COLOURS[i] + '55',
                 borderColor: COLOURS[i], borderWidth: 1,
                 data: rows.map(function (r) {
                   return r[m] ? [r[m].low * 100, r[m].high * 100] : null; })});
      sets.push({type: 'line', label: t(m) + ' (%)', showLine: false, pointRadius: 5,
                 pointStyle: 'rectRot', borderColor: COLOURS[i], backgroundColor: COLOURS[i],
                 data: rows.map(function (r) { return r[m] ? r[m].value * 100 : null; })});
    });
    chart('c-arm', t('armLabel'), {type: 'bar', data: {labels: labels, datasets: sets},
                                   options: {scales: {y: {min: 0, max: 100}}}});
  }

  function yesNo(v) { return v === null || v === undefined ? t('unknown') : (v ? t('yes') : t('no')); }

  function renderGoals(doc) {
    var box = $('goals');
    box.textContent = '';
    if (!doc.goals.length) {
      box.appendChild(el('p', null, t('noGoals')));
      return;
    }
    doc.goals.forEach(function (g, gi) {
      var keys = {goal: g.name};
      var art = el('article', {'class': 'goal', 'data-goal': g.name});
      art.appendChild(el('h3', null, g.name));
      var seg = Object.keys(g.segment || {}).map(function (k) { return k + ': ' + g.segment[k]; });
      var dl = el('dl', {'class': 'kpis'});
      function item(label, node) {
        var div = el('div', {'class': 'kpi'});
        div.appendChild(el('dt', null, label));
        div.appendChild(node);
        dl.appendChild(div);
      }
      art.appendChild(el('p', {'class': 'metric'}, t(g.metric)));
      item(t('segment'), el('dd', {'data-metric': 'segment', 'data-goal': g.name,
                                   'data-value': JSON.stringify(g.segment || {})},
                            seg.length ? seg.join(', ') : t('all')));
      item(t('target'), figure('dd', 'target', {value: g.target, low: null, high: null}, keys));
      item(t('by'), el('dd', {'data-metric': 'by', 'data-goal': g.name, 'data-value': g.by}, g.by));
      item(t('days_left'), figure('dd', 'days_left', g.days_left, keys));
      var cur = g.current || {from: g.from, value: null, low: null, high: null, on_loan: null};
      var rec = g.recent || {value: null, low: null, high: null, on_loan: null};
      item(fill(t('current'), {d: cur.from || g.from}),
           figure('dd', g.metric, cur, {goal: g.name, span: 'current'}));
      item(t('recent'), figure('dd', g.metric, rec, {goal: g.name, span: 'recent'}));
      item(t('on_loan') + ' (' + t('recent') + ')',
           figure('dd', 'on_loan', rec.on_loan, {goal: g.name, span: 'recent'}));
      item(t('on_track'), el('dd', {'data-metric': 'on_track', 'data-goal': g.name,
                                    'data-value': raw(g.on_track)}, yesNo(g.on_track)));
      item(t('met'), el('dd', {'data-metric': 'met', 'data-goal': g.name,
                               'data-value': raw(g.met)}, yesNo(g.met)));
      art.appendChild(dl);
      var weeks = g.weeks || [];
      var holder = el('div', {'class': 'chart'});
      var canvas = el('canvas', {id: 'c-goal-' + gi, role: 'img'});
      holder.appendChild(canvas);
      art.appendChild(holder);
      var details = el('details');
      details.appendChild(el('summary', null, t('weeks')));
      var table = el('table');
      table.appendChild(el('caption', {'class': 'vh'}, g.name + ': ' + t('weeks')));
      header(table, [t('week'), t('on_loan'), t(g.metric)]);
      var tbody = el('tbody');
      weeks.forEach(function (w) {
        var wk = {goal: g.name, week: w.week};
        var tr = el('tr');
        tr.appendChild(el('th', {scope: 'row'}, w.week));
        tr.appendChild(figure('td', 'on_loan', w.on_loan, wk));
        tr.appendChild(figure('td', g.metric, {value: w.value, low: w.low, high: w.high}, wk));
        tbody.appendChild(tr);
      });
      table.appendChild(tbody);
      var scroll = el('div', {'class': 'scroll'});
      scroll.appendChild(table);
      details.appendChild(scroll);
      art.appendChild(details);
      box.appendChild(art);
      chart(canvas.id, fill(t('goalLabel'), {m: t(g.metric), t: percent(g.target)}), {
        type: 'line',
        data: {labels: weeks.map(function (w) { return w.week; }), datasets: [
          {label: t(g.metric) + ' (%)', borderColor: COLOURS[0], backgroundColor: COLOURS[0],
           spanGaps: true, data: weeks.map(function (w) {
             return w.value === null ? null : w.value * 100; })},
          {label: t('target') + ' (%)', borderColor: COLOURS[1], backgroundColor: COLOURS[1],
           borderDash: [6, 4], pointRadius: 0, data: weeks.map(function () {
             return g.target * 100; })}]},
        options: {scales: {y: {min: 0}}}
      });
    });
  }

  function render() {
    chartsGone();
    if (!data)
      return;
    renderTotal(data.total.total);
    renderFunnel(data.total.total);
    renderDays(data.day);
    renderBranches(data.branch);
    groupTable('t-channel', 'channel', data.channel, false);
    renderArms(data.arm);
    renderGoals(data.goals);
  }

  /* ---------------------------------------------------------------- the page */

  function applyLang() {
    document.documentElement.setAttribute('lang', lang);
    var nodes = document.querySelectorAll('[data-i18n]');
    for (var i = 0; i < nodes.length; i++)
      nodes[i].textContent = t(nodes[i].getAttribute('data-i18n'));
    var b = $('lang');
    b.textContent = t('other');
    b.setAttribute('lang', t('otherLang'));
    b.removeAttribute('aria-label');
    document.title = 'onloan: ' + t('title');
  }

  function askKey(msg) {
    $('board').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    say(msg || t('askKey'));
    $('key').value = '';
    $('key').focus();
  }

  function showBoard() {
    $('login').hidden = true;
    $('board').hidden = false;
    $('logout').hidden = false;
  }

  function start() {
    var asked = new URLSearchParams(location.search).get('lang');
    var kept = sessionStorage.getItem(LANG_STORE);
    lang = asked in TEXT ? asked : kept in TEXT ? kept : 'nl';
    applyLang();
    $('lang').addEventListener('click', function () {
      lang = t('otherLang');
      sessionStorage.setItem(LANG_STORE, lang);
      applyLang();
      render();
      if (data)
        say(fill(t('shownRange'), {from: data.range.from, to: data.range.to}));
    });
    $('logout').addEventListener('click', function () {
      sessionStorage.removeItem(KEY_STORE);
      data = null;
      chartsGone();
      askKey();
    });
    $('login').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var k = $('key').value.trim();
      if (!k)
        return;
      sessionStorage.setItem(KEY_STORE, k);
      showBoard();
      load(null);
    });
    $('range').addEventListener('submit', function (ev) {
      ev.preventDefault();
      $('from').removeAttribute('aria-invalid');
      $('to').removeAttribute('aria-invalid');
      load({from: $('from').value, to: $('to').value});
    });
    var buttons = document.querySelectorAll('button.csv');
    for (var i = 0; i < buttons.length; i++)
      buttons[i].addEventListener('click', function (ev) {
        downloadCSV(ev.currentTarget.getAttribute('data-group'));
      });
    if (key()) {
      showBoard();
      load(null);
    } else {
      askKey();
    }
  }

  if (document.readyState === 'loading')
    document.addEventListener('DOMContentLoaded', start);
  else
    start();
})();
