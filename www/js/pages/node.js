/* Node: this node's GET /metrics (Prometheus text, same origin as the
 * console) in human form: connections, streams, bytes in/out with rates
 * between two polls, callbacks, Redis, queue depths and every error
 * counter, refreshed every 5 s; the whole list below, filterable. */
(function () {
  'use strict';
  var LE = window.LE, h = LE.h;

  function parse(text) {
    var m = {};
    text.split('\n').forEach(function (l) {
      if (!l || l[0] === '#') return;
      var i = l.lastIndexOf(' ');
      if (i < 0) return;
      m[l.slice(0, i)] = Number(l.slice(i + 1));
    });
    return m;
  }
  function sum(m, re) {
    var t = 0;
    Object.keys(m).forEach(function (k) { if (re.test(k)) t += m[k]; });
    return t;
  }

  LE.page('node', {
    title: 'Node', nav: true, order: 50,
    render: function (el) {
      var cards = h('div', { class: 'metric-grid', id: 'node-metrics' }), all = h('div', { id: 'metrics-all' });
      var filter = h('input', { placeholder: 'filter metrics', id: 'metrics-filter' });
      var prev = null, prevT = 0, last = null;
      el.appendChild(h('h1', {}, 'Node'));
      el.appendChild(cards);
      el.appendChild(h('h2', {}, 'Every metric'));
      el.appendChild(h('div', { class: 'filters' }, filter));
      el.appendChild(all);
      filter.addEventListener('input', function () { drawAll(); });

      function card(title, value, sub, bad) {
        return h('div', { class: 'metric' + (bad ? ' state-off' : '') }, h('small', {}, title), h('b', {}, value), h('small', {}, sub || ''));
      }
      function rate(k, m, dt) { return prev && dt > 0 ? Math.max(0, (m[k] - prev[k]) * 8 / dt / 1000) : 0; }
      function drawAll() {
        if (!last) return;
        var q = filter.value.toLowerCase();
        var rows = Object.keys(last).filter(function (k) { return !q || k.toLowerCase().indexOf(q) >= 0; })
          .map(function (k) { return { name: k, value: last[k] }; });
        LE.clear(all).appendChild(LE.table([{ title: 'Metric', key: 'name' }, { title: 'Value', key: 'value' }], rows));
      }
      function load() {
        fetch('/metrics', { cache: 'no-store', credentials: 'omit' }).then(function (r) {
          if (!r.ok) throw { Code: 'HTTP' + r.status, Message: 'GET /metrics failed' };
          return r.text();
        }).then(function (t) {
          var m = parse(t), now = Date.now(), dt = (now - prevT) / 1000;
          var errors = sum(m, /(error|fail|dropped|lost|refusals|bad_clients)[a-z_]*(\{|$)/);
          LE.clear(cards).appendChild(h('div', { style: 'display:contents' },
            card('Connections', sum(m, /^livedge_connections\{/), 'RTMP ' + (m['livedge_connections{protocol="rtmp"}'] || 0) +
              ', HTTP ' + (m['livedge_connections{protocol="http"}'] || 0) + ', admin ' + (m.livedge_admin_connections || 0)),
            card('Live streams', m.livedge_streams_live || 0, 'accepted connections ' + (m.livedge_connections_accepted_total || 0)),
            card('Bytes in', LE.fmtBytes(m.livedge_bytes_in_total), rate('livedge_bytes_in_total', m, dt).toFixed(0) + ' kbit/s'),
            card('Bytes out', LE.fmtBytes(m.livedge_bytes_out_total), rate('livedge_bytes_out_total', m, dt).toFixed(0) + ' kbit/s'),
            card('Callbacks', m.livedge_callbacks_sent_total || 0, 'pending ' + (m.livedge_callbacks_pending || 0) + ', failed ' +
              (m.livedge_callbacks_failed_total || 0), m.livedge_callbacks_failed_total > 0),
            card('Redis', m.livedge_redis_up ? 'up' : 'DOWN', 'writes queued ' + (m.livedge_redis_writes_queued || 0) + ', reconnects ' +
              (m.livedge_redis_reconnects_total || 0), !m.livedge_redis_up),
            card('Queues', (m.livedge_timeshift_writer_queue_jobs || 0) + ' jobs', 'time-shift ' + LE.fmtBytes(m.livedge_timeshift_writer_queue_bytes) +
              ', uploads ' + (m.livedge_record_uploads_pending || 0)),
            card('Recording', (m.livedge_record_tasks || 0) + ' tasks', LE.fmtBytes(m.livedge_record_bytes_total) + ' written'),
            card('Transcode / studio', (m.livedge_transcode_jobs || 0) + ' jobs', (m.livedge_casters_running || 0) + ' casters running'),
            card('Errors', errors, 'failures, drops and refusals, all counters', errors > 0)));
          prev = m; prevT = now; last = m;
          drawAll();
        }).catch(function (e) { LE.showError(cards, e); });
      }
      LE.every(5000, load);
    }
  });
})();
