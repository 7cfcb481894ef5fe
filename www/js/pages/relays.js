/* Relays: the pulls, pushes and edge copies this node runs
 * (DescribeLiveRelays: Kind, State, Url masked, Bytes, Failures, LastError),
 * refreshed every 3 s. */
(function () {
  'use strict';
  var LE = window.LE, h = LE.h;
  LE.page('relays', {
    title: 'Relays', nav: true, order: 40,
    render: function (el) {
      var kind = h('select', { id: 'relay-kind' }, ['all', 'pull', 'push', 'edge'].map(function (k) { return h('option', { value: k }, k); }));
      var list = h('div', { id: 'relay-list' }, h('p', { class: 'mute' }, 'Loading…'));
      el.appendChild(h('h1', {}, 'Relays'));
      el.appendChild(h('div', { class: 'filters' }, h('label', {}, 'Kind', kind)));
      el.appendChild(list);
      function load() {
        LE.api('DescribeLiveRelays', { Kind: kind.value }).then(function (b) {
          var now = Date.now();
          LE.clear(list).appendChild(LE.table([
            { title: 'Kind', key: 'Kind' },
            { title: 'State', get: function (r) { return h('span', { class: r.State === 'active' ? 'state-on' : r.State === 'backoff' ? 'state-off' : '' }, r.State); } },
            { title: 'Stream', get: function (r) { return r.DomainName + '/' + r.AppName + '/' + r.StreamName; } },
            { title: 'URL', key: 'Url' },
            { title: 'Bytes', get: function (r) { return LE.fmtBytes(r.Bytes); } },
            { title: 'Attempts', key: 'Attempts' },
            { title: 'Failures', key: 'Failures' },
            { title: 'Last error', get: function (r) { return r.LastError ? h('span', { class: 'state-off' }, r.LastError) : ''; } },
            { title: 'Since', get: function (r) { return r.StateTime ? LE.fmtDuration((now - Date.parse(r.StateTime)) / 1000) : ''; } },
            { title: 'Node', key: 'Node' }
          ], LE.items(b, 'RelayList', 'Relay'), 'No relay runs on this node.'));
        }, function (e) { LE.showError(list, e); });
      }
      kind.addEventListener('change', load);
      LE.every(3000, load);
    }
  });
})();
