/* relays page: filled in below. */ LE.page('relays', { title: 'relays', nav: true, render: function (el) { el.appendChild(LE.h('p', {}, 'Coming.')); } });
